"""The exam plan both sides reason about: the calendar model, what it requires of a room at an instant, and
its per-site wire form (:class:`protocol.messages.AgentCalendar`).  Pure: no I/O, no clock.

The hub loads and checks calendar files (hub/calendar) and pushes each site its slice; the agent keeps the
slice it was sent and evaluates the same :func:`required_state`, so both agree on what was required when.
"""

from protocol.plan.model import ANY_ROOM, EXAM_TZ, Calendar, Custody, Exam, RoomRef, Session
from protocol.plan.required import JammerRequirement, Phase, RequiredState, required_state, vault_required
from protocol.plan.wire import calendar_from_wire, calendar_to_wire

__all__ = [
    "ANY_ROOM",
    "EXAM_TZ",
    "Calendar",
    "Custody",
    "Exam",
    "JammerRequirement",
    "Phase",
    "RequiredState",
    "RoomRef",
    "Session",
    "calendar_from_wire",
    "calendar_to_wire",
    "required_state",
    "vault_required",
]
