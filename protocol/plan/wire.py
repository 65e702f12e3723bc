"""A site's slice of the plan as it travels to the agent, and back into the model the agent evaluates.

The message is bounded (see :class:`protocol.messages.AgentCalendar`): sessions that are over are left out
first, then only the earliest :data:`~protocol.messages.CALENDAR_MAX_SESSIONS` are kept.  A site with more
sittings than that in one exam period would be a calendar mistake long before it was a wire problem.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from protocol.messages import (
    CALENDAR_MAX_SESSIONS,
    PAPER_MAX_CHARS,
    AgentCalendar,
    CustodyPeriod,
    PlannedSession,
)
from protocol.plan.model import Calendar, Custody, Exam, RoomRef, Session
from protocol.validation import checked


def calendar_to_wire(calendar: Calendar, site: str, ts: datetime) -> AgentCalendar:
    """``site``'s (``<city>/<site>``) slice of ``calendar``, generated at ``ts``, checked as the agent will
    check it: raises ValueError (:class:`msgspec.ValidationError` naming the field) when it does not fit
    the wire model, e.g. when the plan has no version (a calendar built in code, not imported)."""
    mine = calendar.for_site(site)
    current = [s for s in mine.sessions if s.end + mine.jammer_lag > ts]
    current.sort(key=lambda s: (s.start, s.id))
    sessions = [
        PlannedSession(
            id=s.id,
            exam=s.exam,
            paper=_clip(s.paper, PAPER_MAX_CHARS),
            rooms=sorted({r.room for r in s.rooms if r.site == site}),
            checkin_start=s.checkin_start,
            start=s.start,
            end=s.end,
        )
        for s in current[:CALENDAR_MAX_SESSIONS]
    ]
    custody = [
        CustodyPeriod(collection=c.collection, arrival_due=c.arrival_due, returned=c.returned) for c in mine.custody
    ]
    return checked(
        AgentCalendar(
            version=calendar.version,
            site=site,
            ts=ts,
            jammer_on_before_s=int(mine.jammer_lead.total_seconds()),
            jammer_off_after_s=int(mine.jammer_lag.total_seconds()),
            sessions=sessions,
            custody=custody[:1],
        )
    )


def calendar_from_wire(message: AgentCalendar) -> Calendar:
    """The model :func:`protocol.plan.required_state` evaluates, for the message's site only."""
    site = message.site
    sessions = tuple(
        Session(
            exam=s.exam,
            id=s.id,
            paper=s.paper,
            start=s.start,
            end=s.end,
            checkin=s.start - s.checkin_start,
            rooms=tuple(RoomRef(site, room) for room in s.rooms),
        )
        for s in message.sessions
    )
    city = site.split("/", 1)[0]
    return Calendar(
        exams=tuple(Exam(e, e) for e in sorted({s.exam for s in sessions})),
        sessions=sessions,
        custody=tuple(Custody(city, c.collection, c.arrival_due, c.returned) for c in message.custody),
        jammer_lead=timedelta(seconds=message.jammer_on_before_s),
        jammer_lag=timedelta(seconds=message.jammer_off_after_s),
        version=message.version,
    )


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
