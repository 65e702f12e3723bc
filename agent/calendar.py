"""The exam plan this agent's site runs to: received from the hub, kept on disk, asked what a room needs now.

The hub retains an :class:`~protocol.messages.AgentCalendar` on the agent's ``calendar`` topic;
:class:`CalendarKeeper` takes it up the way :mod:`agent.retained` keeps every retained message (checked on
the supervisor's loop, saved atomically beside the outbox, read back at start), so an agent restarted
without network still knows what is required.

What is required comes from :func:`protocol.plan.required_state`, the same function the hub's rules use;
:func:`annotate` writes it into the jammer and probe states, so replayed history shows what was required
at the time each reading was taken.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Final

import msgspec

from agent.retained import Rejected, Retained, RetainedKeeper, checked
from protocol.codec import decode_calendar
from protocol.messages import AgentCalendar, DeviceKind, DeviceState, Scalar
from protocol.plan import Calendar, calendar_from_wire, required_state

# The device kinds whose states carry the room's requirement.
ANNOTATED: Final[frozenset[DeviceKind]] = frozenset({"jammer", "probe"})
REQUIRED_JAMMER: Final = "required_jammer"
IN_SESSION: Final = "in_session"
# A state's details hold at most 64 keys (protocol.messages.Details); ours are added only if they fit.
_MAX_DETAILS: Final = 64


class CalendarRejected(Rejected):
    """A calendar (from the hub or from the file) that cannot be used: not valid, or for another site."""


def check(payload: bytes, site: str) -> AgentCalendar:
    """The calendar in ``payload`` if it is valid and for ``site`` (``<city>/<site>``)."""
    return checked(payload, site, decode_calendar, CalendarRejected, "calendar")


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
        out.append(msgspec.structs.replace(state, details=details) if fits else state)
    return out


def describe(message: AgentCalendar) -> str:
    return f"version {message.version}, {len(message.sessions)} session(s)"


CALENDAR: Final = Retained("calendar", check, calendar_from_wire, describe)


class CalendarKeeper(RetainedKeeper[AgentCalendar, Calendar]):
    """The calendar held by one agent; ``path`` None keeps it in memory only."""

    def __init__(self, site: str, path: Path | None) -> None:
        super().__init__(CALENDAR, site, path)

    @property
    def version(self) -> str | None:
        return None if self.message is None else self.message.version

    @property
    def calendar(self) -> Calendar | None:
        return self.held

    def requirements(
        self, states: Sequence[DeviceState], rooms: Mapping[str, str | None], at: datetime
    ) -> list[DeviceState]:
        """Take up any calendar received, then :func:`annotate` ``states`` with it (the supervisor's loop)."""
        self.apply_pending()
        return annotate(states, rooms, self.calendar, self.site, at)
