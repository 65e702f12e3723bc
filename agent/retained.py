"""One message the hub retains for this agent: taken from the link, checked, kept on disk, read back at start.

The calendar (:mod:`agent.calendar`) and the roster (:mod:`agent.roster`) arrive the same way: the link's
thread only hands the payload over (:meth:`RetainedKeeper.offer`); the supervisor's loop checks it (a bad
one is logged and counted, never raised), writes it atomically beside the outbox and starts using it.  At
start the file is read back, so an agent restarted without network still has what it was last sent.

Logs name the message, the file and what ``describe`` says of it, never the payload: the roster's carries
the exam's candidate key.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Generic, Protocol, TypeVar

from agent.errors import AgentError
from protocol.errors import ProtocolError


class Sited(Protocol):
    """A decoded message that names the site it is for."""

    @property
    def site(self) -> str: ...


M = TypeVar("M")
H = TypeVar("H")
S = TypeVar("S", bound=Sited)

# What open() would create: a file anyone may read, narrowed by the umask.
SHARED_MODE: Final = 0o666


class Rejected(AgentError):
    """A retained message (from the hub or from the file) that cannot be used: not valid, or for another site."""


def checked(payload: bytes, site: str, decode: Callable[[bytes], S], rejected: type[Rejected], name: str) -> S:
    """The message ``decode`` finds in ``payload`` if it is valid and for ``site``; else ``rejected`` is raised."""
    try:
        message = decode(payload)
    except ProtocolError as exc:
        raise rejected(f"invalid {name}: {exc}") from exc
    if message.site != site:
        raise rejected(f"{name} is for site {message.site!r}, this agent is at {site!r}")
    return message


@dataclass(slots=True)
class RetainedCounters:
    received: int = 0
    applied: int = 0
    rejected: int = 0
    persist_errors: int = 0


@dataclass(frozen=True, slots=True)
class Retained(Generic[M, H]):
    """What varies between retained messages.

    ``check`` turns a payload into the message for ``site`` or raises :class:`Rejected`; ``hold`` makes
    what the agent uses of it; ``describe`` says what a log line may show of it.
    """

    name: str
    check: Callable[[bytes, str], M]
    hold: Callable[[M], H]
    describe: Callable[[M], str]
    mode: int = SHARED_MODE


class RetainedKeeper(Generic[M, H]):
    """The message held by one agent; ``path`` None keeps it in memory only."""

    def __init__(self, kind: Retained[M, H], site: str, path: Path | None) -> None:
        self.site = site
        self.path = path
        self.counters = RetainedCounters()
        self._kind = kind
        self._log = logging.getLogger(f"sitewatch.agent.{kind.name}")
        self._inbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._message: M | None = None
        self._held: H | None = None

    @property
    def message(self) -> M | None:
        return self._message

    @property
    def held(self) -> H | None:
        return self._held

    def load(self) -> None:
        """Take up the message saved by an earlier run, if there is a usable one."""
        if self.path is None:
            return
        name = self._kind.name
        try:
            payload = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.counters.persist_errors += 1
            self._log.warning("cannot read the saved %s %s: %s", name, self.path, _reason(exc))
            return
        try:
            message = self._kind.check(payload, self.site)
        except Rejected as exc:
            self.counters.rejected += 1
            self._log.warning("ignoring the saved %s %s: %s", name, self.path, exc)
            return
        self._use(message)
        self._log.info("%s loaded from %s: %s", name, self.path, self._kind.describe(message))

    def offer(self, payload: bytes) -> None:
        """From the link's thread: queue and return."""
        self._inbox.put(payload)

    def apply_pending(self) -> bool:
        """Check and take up what arrived since the last call; True when the message held changed."""
        changed = False
        while True:
            try:
                payload = self._inbox.get_nowait()
            except queue.Empty:
                return changed
            self.counters.received += 1
            try:
                message = self._kind.check(payload, self.site)
            except Rejected as exc:
                self.counters.rejected += 1
                self._log.warning("%s from the hub rejected: %s", self._kind.name, exc)
                continue
            if message == self._message:
                continue
            self._save(payload)
            self._use(message)
            self.counters.applied += 1
            changed = True
            self._log.info("%s received: %s", self._kind.name, self._kind.describe(message))

    def _use(self, message: M) -> None:
        self._message = message
        self._held = self._kind.hold(message)

    def _save(self, payload: bytes) -> None:
        # Written before it is used: a message acted on is one a restart finds again.  The mode is set at
        # creation, not by chmod afterwards: the roster's key must never sit in a file others could read,
        # even for a moment.
        if self.path is None:
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        try:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()  # a leftover might have been created with a wider mode
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, self._kind.mode)
            with os.fdopen(fd, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, self.path)
            _sync_dir(self.path.parent)
        except OSError as exc:
            self.counters.persist_errors += 1
            self._log.warning("cannot save the %s to %s (kept in memory): %s", self._kind.name, self.path, _reason(exc))
            with contextlib.suppress(OSError):
                temporary.unlink()


def _reason(exc: OSError) -> str:
    # strerror alone: str(exc) may repeat the file name, and a log line needs only why.
    return exc.strerror or type(exc).__name__


def _sync_dir(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
