"""What the calendar requires of a room (and of its site's vault) at an instant.

    jammer   "on" while a paper is being sat (rule R2), "off" outside any session (it disturbs police and
             other radio services, rule R4), "any" in the grace minutes just before a sitting and just after
             it, so that switching on a little early or off a little late raises nothing
    readers  True from the opening of check-in to the end of the sitting (gates open → readers up)
    vault    True while the site holds papers (rules V3/V4): from the earlier of its arrival report and the
             city's ``arrival_due`` (a late or forgotten report must not leave the vault unwatched) until the
             city's ``return``

``next_change`` says when any of these may change next, so a caller can evaluate at that instant
instead of polling.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from protocol.plan.model import Calendar, Session

JammerRequirement = Literal["on", "off", "any"]
Phase = Literal["idle", "checkin", "sitting"]


@dataclass(frozen=True, slots=True)
class RequiredState:
    at: datetime
    jammer: JammerRequirement
    readers: bool
    vault: bool
    phase: Phase
    # The session sitting or checking in now; else the one whose grace minutes these are, if any.
    session: Session | None
    next_change: datetime | None


def required_state(
    calendar: Calendar, site: str, room: str, at: datetime, *, arrival_reported_at: datetime | None = None
) -> RequiredState:
    """The state ``room`` of ``site`` (``<city>/<site>``) must be in at ``at`` (timezone-aware)."""
    _aware(at)
    sessions = calendar.sessions_in(site, room)
    sitting = next((s for s in sessions if s.start <= at < s.end), None)
    checking = next((s for s in sessions if s.checkin_start <= at < s.start), None)
    grace = next(
        (s for s in sessions if s.start - calendar.jammer_lead <= at < s.end + calendar.jammer_lag),
        None,
    )
    jammer: JammerRequirement = "on" if sitting else "any" if grace else "off"
    phase: Phase = "sitting" if sitting else "checkin" if checking else "idle"
    boundaries = [
        edge
        for s in sessions
        for edge in (s.checkin_start, s.start - calendar.jammer_lead, s.start, s.end, s.end + calendar.jammer_lag)
    ]
    boundaries += _vault_edges(calendar, site, arrival_reported_at)
    later = [edge for edge in boundaries if edge > at]
    return RequiredState(
        at=at,
        jammer=jammer,
        readers=sitting is not None or checking is not None,
        vault=vault_required(calendar, site, at, arrival_reported_at=arrival_reported_at),
        phase=phase,
        session=sitting or checking or grace,
        next_change=min(later, default=None),
    )


def vault_required(calendar: Calendar, site: str, at: datetime, *, arrival_reported_at: datetime | None = None) -> bool:
    """Whether ``site``'s vault must be watched at ``at`` (its city's custody, opened by the arrival report)."""
    _aware(at)
    edges = _vault_edges(calendar, site, arrival_reported_at)
    return bool(edges) and edges[0] <= at < edges[1]


def _vault_edges(calendar: Calendar, site: str, arrival_reported_at: datetime | None) -> list[datetime]:
    custody = calendar.custody_for(site.split("/", 1)[0])
    if custody is None:
        return []
    opened = custody.arrival_due if arrival_reported_at is None else min(arrival_reported_at, custody.arrival_due)
    return [opened, custody.returned]


def _aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no timezone: pass an aware datetime")
