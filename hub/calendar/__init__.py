"""The exam calendar: the file format, its checks, and what it requires of each room at each instant.

Pure: no database, no clock.  ``load_calendar`` / ``parse_calendar`` read a file (see README.md beside
this module), ``required_state`` answers "what must hold in this room now", and the rules in hub/rules
compare that with what the devices report.
"""

from hub.calendar.errors import CalendarError, CalendarProblem
from hub.calendar.load import Inventory, load_calendar, parse_calendar
from hub.calendar.model import ANY_ROOM, EXAM_TZ, Calendar, Custody, Exam, RoomRef, Session
from hub.calendar.required import JammerRequirement, Phase, RequiredState, required_state, vault_required

__all__ = [
    "ANY_ROOM",
    "EXAM_TZ",
    "Calendar",
    "CalendarError",
    "CalendarProblem",
    "Custody",
    "Exam",
    "Inventory",
    "JammerRequirement",
    "Phase",
    "RequiredState",
    "RoomRef",
    "Session",
    "load_calendar",
    "parse_calendar",
    "required_state",
    "vault_required",
]
