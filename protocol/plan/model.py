"""The exam calendar: exams, their sessions (which paper, when, in which rooms) and each city's paper custody.

Every time here is timezone-aware; the file gives Beijing time (Asia/Shanghai, UTC+8 all year, no summer
time) and the loader attaches the zone.  A session's sitting is the half-open interval ``[start, end)`` and
its check-in (gates open, readers needed) begins ``checkin`` before ``start``.  A session may cross midnight:
only ``end > start`` is required.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Final

# Beijing time as a fixed offset: China has kept UTC+8 without summer time since 1991 (tested against the tz
# database), and the agent then needs no zoneinfo, whose import is 0.8 MB of its memory (issue 5).
EXAM_TZ: Final = timezone(timedelta(hours=8), "CST")
ANY_ROOM: Final = "*"


@dataclass(frozen=True, slots=True)
class RoomRef:
    """A room taking part: ``site`` is ``<city>/<site>`` (as in agent ids); ``room`` is ``*`` for every room."""

    site: str
    room: str

    @property
    def city(self) -> str:
        return self.site.split("/", 1)[0]

    def covers(self, site: str, room: str) -> bool:
        return self.site == site and self.room in (room, ANY_ROOM)

    def meets(self, other: RoomRef) -> bool:
        """Whether the two refer to at least one common room."""
        return self.site == other.site and (self.room == other.room or ANY_ROOM in (self.room, other.room))

    def __str__(self) -> str:
        return f"{self.site}/{self.room}"


@dataclass(frozen=True, slots=True)
class Exam:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Session:
    exam: str
    id: str
    paper: str
    start: datetime
    end: datetime
    checkin: timedelta
    rooms: tuple[RoomRef, ...]
    # The line of its [[sessions]] table in the file it came from, for messages; None when built in code.
    line: int | None = field(default=None, compare=False)

    @property
    def checkin_start(self) -> datetime:
        return self.start - self.checkin

    @property
    def date(self) -> date:
        """The exam day, in Beijing time: the day the session starts, even when it ends after midnight."""
        return self.start.astimezone(EXAM_TZ).date()

    @property
    def sites(self) -> frozenset[str]:
        return frozenset(r.site for r in self.rooms)

    def sits_in(self, site: str, room: str) -> bool:
        return any(r.covers(site, room) for r in self.rooms)

    def at_site(self, site: str) -> bool:
        return any(r.site == site for r in self.rooms)

    def rooms_at(self, site: str, inventory_rooms: frozenset[str] | None = None) -> frozenset[str]:
        """The rooms of ``site`` taking part; ``*`` is expanded with ``inventory_rooms`` when given."""
        named = {r.room for r in self.rooms if r.site == site}
        if ANY_ROOM in named:
            named.discard(ANY_ROOM)
            if inventory_rooms is not None:
                return frozenset(inventory_rooms)
            named.add(ANY_ROOM)
        return frozenset(named)


@dataclass(frozen=True, slots=True)
class Custody:
    """A city's paper custody (rules V2/V3): papers collected, expected in the site vaults, returned."""

    city: str
    collection: datetime
    arrival_due: datetime
    returned: datetime
    line: int | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Calendar:
    exams: tuple[Exam, ...] = ()
    sessions: tuple[Session, ...] = ()
    custody: tuple[Custody, ...] = ()
    # Around a sitting the jammer may already be on, or still on, without a warning.
    jammer_lead: timedelta = timedelta(minutes=15)
    jammer_lag: timedelta = timedelta(minutes=10)
    # Names the plan as imported (the start of its file's SHA-256); "" for a calendar built in code.
    version: str = ""

    def sessions_in(self, site: str, room: str) -> tuple[Session, ...]:
        return tuple(s for s in self.sessions if s.sits_in(site, room))

    def sessions_at(self, site: str) -> tuple[Session, ...]:
        return tuple(s for s in self.sessions if s.at_site(site))

    def custody_for(self, city: str) -> Custody | None:
        return next((c for c in self.custody if c.city == city), None)

    def sites(self) -> frozenset[str]:
        return frozenset(site for s in self.sessions for site in s.sites)

    def for_site(self, site: str) -> Calendar:
        """What one site needs to know (the slice pushed to its agent): its sessions and its city's custody."""
        city = site.split("/", 1)[0]
        sessions = tuple(s for s in self.sessions if s.at_site(site))
        exams = {s.exam for s in sessions}
        return Calendar(
            exams=tuple(e for e in self.exams if e.id in exams),
            sessions=sessions,
            custody=tuple(c for c in self.custody if c.city == city),
            jammer_lead=self.jammer_lead,
            jammer_lag=self.jammer_lag,
            version=self.version,
        )
