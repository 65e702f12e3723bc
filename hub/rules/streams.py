"""Rules over the append-only streams the hub stores: check-in events (the same candidate at two places
in one session) and quarantined messages (a payload naming another agent).

The engine reads each stream from a receive-time cursor with an overlap, because several hub processes
commit in an order that is not quite their receive order; :class:`Cursor` keeps the keys already handled
inside the overlap so nothing is handled twice.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Generic, TypeVar

from hub.calendar import Calendar, Session
from hub.rules import idcard, security
from hub.rules.changes import OpenAlert
from protocol.messages import Scalar

OVERLAP: Final = timedelta(seconds=10)
# A check-in replayed from an agent's outbox after an outage still counts within this long after its session.
LATE_CHECKINS: Final = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One stored ``idcard.checkin`` event; ``at`` is the agent's time of the read."""

    agent_id: str
    boot: str
    seq: int
    device_id: str | None
    name: str
    details: Mapping[str, Scalar]
    at: datetime
    received_at: datetime

    @property
    def key(self) -> tuple[str, str, int]:
        return self.agent_id, self.boot, self.seq

    @property
    def site(self) -> str:
        return self.agent_id.rsplit("/", 1)[0]

    def checkin(self) -> idcard.CheckIn | None:
        return idcard.checkin_from_event(self.site, self.device_id, self.name, self.details, self.at)


@dataclass(frozen=True, slots=True)
class Quarantined:
    id: int
    received_at: datetime
    topic: str
    payload: bytes
    code: str

    @property
    def key(self) -> int:
        return self.id


K = TypeVar("K", bound=Hashable)


class Cursor(Generic[K]):
    """A receive-time position plus the keys handled within ``overlap`` of it."""

    def __init__(self, position: datetime | None = None, overlap: timedelta = OVERLAP) -> None:
        self.position = position
        self._overlap = overlap
        self._handled: dict[K, datetime] = {}

    def after(self) -> datetime | None:
        """Read rows received after this (the position less the overlap)."""
        return None if self.position is None else self.position - self._overlap

    def fresh(self, rows: Iterable[tuple[K, datetime]]) -> list[K]:
        """The keys not handled yet, now marked handled; the position moves to the latest receive time."""
        out: list[K] = []
        for key, received_at in rows:
            if key in self._handled:
                continue
            self._handled[key] = received_at
            out.append(key)
            if self.position is None or received_at > self.position:
                self.position = received_at
        if self.position is not None:
            # Only keys a later read can return again need remembering.
            horizon = self.position - 2 * self._overlap
            self._handled = {k: t for k, t in self._handled.items() if t >= horizon}
        return out


def checkin_window(calendar: Calendar, now: datetime) -> tuple[datetime, datetime] | None:
    """The device-time span whose check-ins can still matter: from the earliest check-in opening of the
    sessions under way (or just ended) to now; None when no session is, so nothing need be read."""
    live = [s for s in calendar.sessions if s.checkin_start <= now < s.end + LATE_CHECKINS]
    if not live:
        return None
    return min(s.checkin_start for s in live), now + OVERLAP


def session_of(calendar: Calendar, checkin: idcard.CheckIn) -> Session | None:
    """The session whose check-in or sitting ``checkin`` happened in, in its room at its site."""
    room = checkin.room or ""
    return next(
        (s for s in calendar.sessions_in(checkin.site, room) if s.checkin_start <= checkin.at < s.end),
        None,
    )


def duplicate_alert(new: StoredEvent, earlier: Sequence[StoredEvent], session: Session) -> OpenAlert | None:
    checkin = new.checkin()
    if checkin is None:
        return None
    others = [c for c in (e.checkin() for e in earlier) if c is not None]
    found = idcard.duplicate_checkin(checkin, others, session)
    if found is None:
        return None
    return OpenAlert(
        found.fingerprint, found.kind, found.severity, new.agent_id, found.summary, new.received_at,
        found.device_id, {**found.details, "site": found.site, "room": found.room},
    )  # fmt: skip


def security_alert(row: Quarantined) -> OpenAlert | None:
    found = security.identity_alert(row.topic, row.payload, row.code, row.received_at)
    if found is None:
        return None
    details: dict[str, Scalar] = {**found.details, "quarantine_id": row.id}
    return OpenAlert(found.fingerprint, found.kind, found.severity, found.agent_id, found.summary, found.opened_at,
                     None, details)  # fmt: skip
