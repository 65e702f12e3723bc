"""The calendar's data model; it lives in :mod:`protocol.plan.model`, shared with the agent."""

from protocol.plan.model import ANY_ROOM, EXAM_TZ, Calendar, Custody, Exam, RoomRef, Session

__all__ = ["ANY_ROOM", "EXAM_TZ", "Calendar", "Custody", "Exam", "RoomRef", "Session"]
