"""When people may be in a vault (rule V7): papers go to the rooms only at the prescribed time.

While papers are stored, the vault may be entered only in these windows:

    storing     the first ``arrival`` after custody opens (the papers are put in), and the last
                ``arrival`` before it ends (they are taken out to be returned)
    hand-out    ``handout`` before each session at the site starts (papers taken to the rooms)
    return      ``returning`` after each session at the site ends (answer sheets and papers back)

Outside custody there are no papers to guard, so anyone may be there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.calendar import Calendar, vault_required


@dataclass(frozen=True, slots=True)
class VaultWindows:
    handout: timedelta = timedelta(minutes=60)
    returning: timedelta = timedelta(minutes=60)
    arrival: timedelta = timedelta(minutes=60)


def custody_opened(calendar: Calendar, site: str, arrival_reported_at: datetime | None) -> datetime | None:
    custody = calendar.custody_for(site.split("/", 1)[0])
    if custody is None:
        return None
    due = custody.arrival_due
    return due if arrival_reported_at is None else min(due, arrival_reported_at)


def vault_authorised(
    calendar: Calendar,
    site: str,
    at: datetime,
    *,
    arrival_reported_at: datetime | None = None,
    windows: VaultWindows = VaultWindows(),
) -> bool:
    """Whether people may be in ``site``'s vault at ``at``."""
    if not vault_required(calendar, site, at, arrival_reported_at=arrival_reported_at):
        return True
    opened = custody_opened(calendar, site, arrival_reported_at)
    custody = calendar.custody_for(site.split("/", 1)[0])
    if opened is None or custody is None:  # vault_required says there is custody
        return True
    if at < opened + windows.arrival or at >= custody.returned - windows.arrival:
        return True
    return any(
        s.start - windows.handout <= at < s.start or s.end <= at < s.end + windows.returning
        for s in calendar.sessions_at(site)
    )
