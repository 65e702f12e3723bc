"""The go / no-go around :func:`hub.rules.gonogo.evaluate`: which session a site is checked for, when
checks are due (``lead`` before each session, then again every ``recheck`` while red), and what a result
does to the site's ``gonogo`` alert (opened when red, closed by a later green run or when the session ends).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from hub.calendar import Calendar, Session, parse_calendar
from hub.rules.changes import AlertChange, CloseAlert, OpenAlert
from hub.rules.gonogo import GoNoGo, GoNoGoPolicy, SiteSnapshot, due, evaluate
from hub.rules.site import SiteView
from protocol.messages import Scalar

KIND: Final = "gonogo"
MAX_SUMMARY_REASONS = 3


def fingerprint(site: str, session: str) -> str:
    return f"{KIND}:{site}:{session}"


def next_session(calendar: Calendar, site: str, now: datetime) -> Session | None:
    """The session a check at ``now`` is for: the one sitting now, else the next one at the site."""
    pending = [s for s in calendar.sessions_at(site) if s.end > now]
    return min(pending, key=lambda s: s.start, default=None)


def site_snapshot(view: SiteView, session: Session | None, calendar_version: str | None = None) -> SiteSnapshot:
    inventory = view.exam_rooms
    rooms = session.rooms_at(view.site, inventory) if session is not None else inventory
    return SiteSnapshot(
        site=view.site,
        rooms=frozenset(r for r in rooms if r != "*"),
        agents=view.agents,
        devices=view.devices,
        session=session.id if session is not None else None,
        calendar_version=calendar_version or None,
    )


def verdict_changes(result: GoNoGo, view: SiteView, now: datetime) -> list[AlertChange]:
    """Red opens the site's alert for the session; green closes it.  A check for no session alerts nobody."""
    if result.session is None:
        return []
    fp = fingerprint(result.site, result.session)
    if result.green:
        return [CloseAlert(fp, now)]
    reasons = result.reasons
    shown = "; ".join(reasons[:MAX_SUMMARY_REASONS]) + (" …" if len(reasons) > MAX_SUMMARY_REASONS else "")
    summary = f"No-go for {result.site} before session {result.session}: {shown}"
    details: dict[str, Scalar] = {
        "site": result.site,
        "session": result.session,
        "failed": ",".join(c.name for c in result.checks if not c.ok),
        "reasons": "; ".join(reasons),
    }
    return [OpenAlert(fp, KIND, "critical", view.agent_for(), summary, now, None, details)]


def ended_changes(open_checks: Iterable[tuple[str, str]], calendar: Calendar, now: datetime) -> list[AlertChange]:
    """Close the go / no-go alerts of sessions that have ended (or left the calendar): the live rules
    have long taken over from a pre-session check."""
    ends = {s.id: s.end for s in calendar.sessions}
    return [
        CloseAlert(fingerprint(site, session), now)
        for site, session in open_checks
        if ends.get(session) is None or ends[session] <= now
    ]


class Schedule:
    """Which (site, session) checks are due at each tick."""

    def __init__(self, lead: timedelta, recheck: timedelta) -> None:
        self._lead = lead
        self._recheck = recheck
        self._since: datetime | None = None
        self._next: dict[tuple[str, str], datetime] = {}

    def reset(self) -> None:
        """Forget what was scheduled (a new calendar, or leadership regained): checks due within ``lead``
        from now are found again on the next :meth:`take`."""
        self._since = None
        self._next.clear()

    def take(self, calendar: Calendar, now: datetime) -> list[tuple[str, Session]]:
        since = self._since if self._since is not None else now - self._lead
        self._since = now
        for site, session in due(calendar, since, now, self._lead):
            self._next.setdefault((site, session.id), now)
        sessions = {s.id: s for s in calendar.sessions}
        out: list[tuple[str, Session]] = []
        for key, at in list(self._next.items()):
            found = sessions.get(key[1])
            if found is None or found.start <= now:
                del self._next[key]
            elif at <= now:
                out.append((key[0], found))
        return sorted(out, key=lambda pair: (pair[1].start, pair[0]))

    def done(self, site: str, session: Session, green: bool, now: datetime) -> None:
        key = (site, session.id)
        if not green and now + self._recheck < session.start:
            self._next[key] = now + self._recheck
        else:
            self._next.pop(key, None)


# --- on demand (the dashboard's "run now") -------------------------------------------------------------


class ReadinessIO(Protocol):
    def latest_calendar(self) -> tuple[int, str] | None:
        """The calendar in force: its version and its file as imported."""
        ...

    def site_views(self, sites: Collection[str], now: datetime) -> Mapping[str, SiteView]: ...

    def record_gonogo(self, result: GoNoGo, trigger: str, requested_by: str) -> None: ...

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        """Apply in one transaction; returns the changes that took effect (an open alert is not opened
        twice, a closed one not closed again)."""
        ...


@dataclass(frozen=True, slots=True)
class Checked:
    result: GoNoGo
    session: Session | None


def run_now(io: ReadinessIO, site: str, now: datetime, policy: GoNoGoPolicy, requested_by: str) -> Checked:
    """Check ``site`` for its current or next session now, store the result and apply its alert."""
    stored = io.latest_calendar()
    calendar = parse_calendar(stored[1], f"calendar {stored[0]}") if stored is not None else Calendar()
    session = next_session(calendar, site, now)
    view = io.site_views([site], now).get(site) or SiteView(site)
    result = evaluate(site_snapshot(view, session, calendar.version), now, policy)
    io.record_gonogo(result, "demand", requested_by)
    io.apply(verdict_changes(result, view, now))
    return Checked(result, session)
