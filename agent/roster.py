"""The exam's candidate key and this site's room rosters: received from the hub, kept on disk, given to readers.

The hub retains an :class:`~protocol.messages.AgentRoster` on the agent's ``roster`` topic.  The link's
thread only hands the payload over (:meth:`RosterKeeper.offer`); the supervisor's loop checks it (a bad
one is logged and counted, never raised), writes it atomically beside the outbox in a file only this
user may read (it holds the key) and hands it to the ID-card readers.  At start the file is read back,
so an agent restarted without network still marks reads registered or not.

Nothing here logs the key or the payload: only the exam, the key's id and sizes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from agent.drivers.idcard.privacy import CandidateKey
from agent.errors import AgentError
from protocol.codec import decode_roster
from protocol.errors import ProtocolError
from protocol.messages import AgentRoster

log = logging.getLogger("sitewatch.agent.roster")

FILE_MODE: Final = 0o600


class RosterRejected(AgentError):
    """A roster (from the hub or from the file) that cannot be used: not valid, or for another site."""


@dataclass(frozen=True, slots=True)
class PushedRoster:
    """What a reader needs from the pushed roster: the key and each room's candidate HMACs."""

    exam: str
    key_id: str
    key: CandidateKey
    rooms: Mapping[str, frozenset[str]]

    def room(self, name: str) -> frozenset[str]:
        """The room's registered candidates; a room the hub did not list has none."""
        return self.rooms.get(name, frozenset())


@runtime_checkable
class RosterUser(Protocol):
    """A driver that takes the pushed roster (the ID-card reader); called on the supervisor's thread."""

    def use_roster(self, roster: PushedRoster | None) -> None: ...


@dataclass(slots=True)
class RosterCounters:
    received: int = 0
    applied: int = 0
    rejected: int = 0
    persist_errors: int = 0


def check(payload: bytes, site: str) -> AgentRoster:
    """The roster in ``payload`` if it is valid and for ``site`` (``<city>/<site>``)."""
    try:
        message = decode_roster(payload)
    except ProtocolError as exc:
        raise RosterRejected(f"invalid roster: {exc}") from exc
    if message.site != site:
        raise RosterRejected(f"roster is for site {message.site!r}, this agent is at {site!r}")
    return message


def held(message: AgentRoster) -> PushedRoster:
    rooms = {room.room: frozenset(room.candidates) for room in message.rooms}
    return PushedRoster(message.exam, message.key_id, CandidateKey(message.key_bytes()), rooms)


class RosterKeeper:
    """The roster held by one agent; ``path`` None keeps it in memory only."""

    def __init__(self, site: str, path: Path | None) -> None:
        self.site = site
        self.path = path
        self.counters = RosterCounters()
        self._inbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._message: AgentRoster | None = None
        self._held: PushedRoster | None = None

    @property
    def roster(self) -> PushedRoster | None:
        return self._held

    def load(self) -> None:
        """Take up the roster saved by an earlier run, if there is a usable one."""
        if self.path is None:
            return
        try:
            payload = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.counters.persist_errors += 1
            log.warning("cannot read the saved roster %s: %s", self.path, exc.strerror or type(exc).__name__)
            return
        try:
            self._use(check(payload, self.site))
        except RosterRejected as exc:
            self.counters.rejected += 1
            log.warning("ignoring the saved roster %s: %s", self.path, exc)
            return
        log.info("roster loaded from %s: %s", self.path, self._describe())

    def offer(self, payload: bytes) -> None:
        """From the link's thread: queue and return."""
        self._inbox.put(payload)

    def apply_pending(self) -> bool:
        """Check and take up what arrived since the last call; True when the roster held changed."""
        changed = False
        while True:
            try:
                payload = self._inbox.get_nowait()
            except queue.Empty:
                return changed
            self.counters.received += 1
            try:
                message = check(payload, self.site)
            except RosterRejected as exc:
                self.counters.rejected += 1
                log.warning("roster from the hub rejected: %s", exc)
                continue
            if message == self._message:
                continue
            self._save(payload)
            self._use(message)
            self.counters.applied += 1
            changed = True
            log.info("roster received: %s", self._describe())

    def _describe(self) -> str:
        message = self._message
        if message is None:
            return "none"
        candidates = sum(len(room.candidates) for room in message.rooms)
        return f"exam {message.exam}, key {message.key_id}, {len(message.rooms)} room(s), {candidates} candidate(s)"

    def _use(self, message: AgentRoster) -> None:
        self._message = message
        self._held = held(message)

    def _save(self, payload: bytes) -> None:
        # Written before it is used: a roster acted on is one a restart finds again.  0600 from creation,
        # not chmod afterwards: the key must never sit in a file others could read, even for a moment.
        if self.path is None:
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        try:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()  # a leftover might have been created with a wider mode
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, self.path)
            _sync_dir(self.path.parent)
        except OSError as exc:
            self.counters.persist_errors += 1
            log.warning("cannot save the roster to %s (kept in memory): %s", self.path, exc.strerror or exc)
            with contextlib.suppress(OSError):
                temporary.unlink()


def _sync_dir(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
