"""The exam plan this agent's site runs to: received from the hub, kept on disk, asked what a room needs now.

The hub retains an :class:`~protocol.messages.AgentCalendar` on the agent's ``calendar`` topic.  The link's
thread only hands the payload over (:meth:`CalendarKeeper.offer`); the supervisor's loop checks it (a bad
one is logged and counted, never raised), writes it atomically beside the outbox and starts using it.  At
start the file is read back, so an agent restarted without network still knows what is required.

What is required comes from :func:`protocol.plan.required_state`, the same function the hub's rules use;
:func:`annotate` writes it into the jammer and probe states, so replayed history shows what was required
at the time each reading was taken.
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Final

from agent.errors import AgentError
from protocol.codec import decode_calendar
from protocol.errors import ProtocolError
from protocol.messages import AgentCalendar, DeviceKind, DeviceState, Scalar
from protocol.plan import Calendar, calendar_from_wire, required_state

log = logging.getLogger("sitewatch.agent.calendar")

# The device kinds whose states carry the room's requirement.
ANNOTATED: Final[frozenset[DeviceKind]] = frozenset({"jammer", "probe"})
REQUIRED_JAMMER: Final = "required_jammer"
IN_SESSION: Final = "in_session"
# A state's details hold at most 64 keys (protocol.messages.Details); ours are added only if they fit.
_MAX_DETAILS: Final = 64


class CalendarRejected(AgentError):
    """A calendar (from the hub or from the file) that cannot be used: not valid, or for another site."""


@dataclass(slots=True)
class CalendarCounters:
    received: int = 0
    applied: int = 0
    rejected: int = 0
    persist_errors: int = 0


def check(payload: bytes, site: str) -> AgentCalendar:
    """The calendar in ``payload`` if it is valid and for ``site`` (``<city>/<site>``)."""
    try:
        message = decode_calendar(payload)
    except ProtocolError as exc:
        raise CalendarRejected(f"invalid calendar: {exc}") from exc
    if message.site != site:
        raise CalendarRejected(f"calendar is for site {message.site!r}, this agent is at {site!r}")
    return message


def room_requirement(calendar: Calendar, site: str, room: str, at: datetime) -> dict[str, Scalar]:
    required = required_state(calendar, site, room, at)
    return {REQUIRED_JAMMER: required.jammer, IN_SESSION: required.phase == "sitting"}


def annotate(
    states: Sequence[DeviceState], rooms: Mapping[str, str | None], calendar: Calendar | None, site: str, at: datetime
) -> list[DeviceState]:
    """``states`` with the requirement of each jammer's and probe's room added; unchanged without a calendar."""
    if calendar is None:
        return list(states)
    out: list[DeviceState] = []
    for state in states:
        room = rooms.get(state.id)
        details = state.details
        if state.kind in ANNOTATED and room is not None:
            details = {**state.details, **room_requirement(calendar, site, room, at)}
        fits = details is not state.details and len(details) <= _MAX_DETAILS
        out.append(state.model_copy(update={"details": details}) if fits else state)
    return out


class CalendarKeeper:
    """The calendar held by one agent; ``path`` None keeps it in memory only."""

    def __init__(self, site: str, path: Path | None) -> None:
        self.site = site
        self.path = path
        self.counters = CalendarCounters()
        self._inbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._message: AgentCalendar | None = None
        self._calendar: Calendar | None = None

    @property
    def version(self) -> str | None:
        return None if self._message is None else self._message.version

    @property
    def calendar(self) -> Calendar | None:
        return self._calendar

    @property
    def message(self) -> AgentCalendar | None:
        return self._message

    def requirements(
        self, states: Sequence[DeviceState], rooms: Mapping[str, str | None], at: datetime
    ) -> list[DeviceState]:
        """Take up any calendar received, then :func:`annotate` ``states`` with it (the supervisor's loop)."""
        self.apply_pending()
        return annotate(states, rooms, self._calendar, self.site, at)

    def load(self) -> None:
        """Take up the calendar saved by an earlier run, if there is a usable one."""
        if self.path is None:
            return
        try:
            payload = self.path.read_bytes()
        except FileNotFoundError:
            return
        except OSError as exc:
            self.counters.persist_errors += 1
            log.warning("cannot read the saved calendar %s: %s", self.path, exc)
            return
        try:
            self._use(check(payload, self.site))
        except CalendarRejected as exc:
            self.counters.rejected += 1
            log.warning("ignoring the saved calendar %s: %s", self.path, exc)
            return
        sessions = 0 if self._message is None else len(self._message.sessions)
        log.info("calendar %s loaded from %s (%d session(s))", self.version, self.path, sessions)

    def offer(self, payload: bytes) -> None:
        """From the link's thread: queue and return."""
        self._inbox.put(payload)

    def apply_pending(self) -> bool:
        """Check and take up what arrived since the last call; True when the calendar held changed."""
        changed = False
        while True:
            try:
                payload = self._inbox.get_nowait()
            except queue.Empty:
                return changed
            self.counters.received += 1
            try:
                message = check(payload, self.site)
            except CalendarRejected as exc:
                self.counters.rejected += 1
                log.warning("calendar from the hub rejected: %s", exc)
                continue
            if message == self._message:
                continue
            self._save(payload)
            self._use(message)
            self.counters.applied += 1
            changed = True
            log.info("calendar %s received (%d session(s))", message.version, len(message.sessions))

    def _use(self, message: AgentCalendar) -> None:
        self._message = message
        self._calendar = calendar_from_wire(message)

    def _save(self, payload: bytes) -> None:
        # Written before it is used: a calendar acted on is one a restart finds again.
        if self.path is None:
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        try:
            with open(temporary, "wb") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, self.path)
            _sync_dir(self.path.parent)
        except OSError as exc:
            self.counters.persist_errors += 1
            log.warning("cannot save the calendar to %s (kept in memory): %s", self.path, exc)
            with contextlib.suppress(OSError):
                temporary.unlink()


def _sync_dir(folder: Path) -> None:
    # The rename itself is durable only once the folder's entry is on disk.
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
