"""The rules engine: once a tick, the leading hub evaluates every rule against what the hub holds.

Each tick (``[rules] tick_s``, 1 s by default), on the hub holding the rules lock only:

1. quarantined ``identity_mismatch`` messages since the last tick → security alerts;
2. with a calendar imported (rules require states *from the calendar*; without one nothing is required):
   per site the calendar names — jammer verdict and readers (:mod:`hub.rules.jammer`,
   :mod:`hub.rules.idcard`), vault (:mod:`hub.rules.vault`) — through their hysteresis into alert changes,
   applied in one transaction; the go / no-go checks that fall due (:mod:`hub.rules.readiness`);
   check-in events since the last tick against the same session's earlier ones.

State between ticks is the hysteresis; on taking the lead it is rebuilt from the open alerts, so a
restart neither repeats an alert nor leaves one open forever.  The engine holds back after a start or a
database outage until the writer has stored for ``settle_s``: device states still queued would otherwise
read as stale.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final, Protocol

from hub.calendar import Calendar, CalendarError, parse_calendar
from hub.errors import StoreError, StoreUnavailable
from hub.rules import readiness
from hub.rules.changes import AlertChange, CloseAlert, OpenAlert, RaiseSeverity
from hub.rules.gonogo import evaluate
from hub.rules.health_runner import HealthRules, in_session
from hub.rules.readiness import ReadinessIO, Schedule
from hub.rules.settings import RulesSettings
from hub.rules.site import OpenRuleAlert, SiteFindings, SiteState, SiteView, advance_site, evaluate_site, resume_site
from hub.rules.streams import Cursor, Quarantined, StoredEvent, checkin_window, duplicate_alert, security_alert
from hub.rules.streams import session_of as checkin_session

log = logging.getLogger("sitewatch.hub.rules")

CHECKINS: Final = "checkins"
QUARANTINE: Final = "quarantine"
# Check-ins whose agent time is this far behind their arrival are replays; they are read by a slower scan.
RECENT: Final = timedelta(minutes=10)
RESCAN: Final = timedelta(seconds=30)
REFRESH_GONOGO: Final = timedelta(seconds=30)
# On a fresh database, quarantined messages this old are still looked at.
QUARANTINE_LOOKBACK: Final = timedelta(hours=1)


class RulesIO(ReadinessIO, Protocol):
    def lead(self) -> bool: ...

    def calendar_version(self) -> int | None: ...

    def arrivals(self, since: datetime) -> Mapping[str, datetime]:
        """The earliest arrival report per site (``<city>/<site>``) at or after ``since``."""
        ...

    def open_rule_alerts(self) -> list[OpenRuleAlert]: ...

    def checkins(
        self, *, received_after: datetime | None, time_from: datetime, time_until: datetime
    ) -> list[StoredEvent]: ...

    def checkins_of(self, candidate: str, time_from: datetime, time_until: datetime) -> list[StoredEvent]: ...

    def identity_mismatches(self, received_after: datetime) -> list[Quarantined]: ...

    def cursor(self, name: str) -> datetime | None: ...

    def set_cursor(self, name: str, position: datetime, now: datetime) -> None: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RulesEngine:
    def __init__(
        self,
        io: RulesIO,
        settings: RulesSettings,
        *,
        writer_healthy_for: Callable[[], float] = lambda: float("inf"),
        clock: Callable[[], datetime] = _utcnow,
        health: HealthRules | None = None,
    ) -> None:
        self._io = io
        self._health = health
        # Whether a session of the calendar in force runs now (the hub monitors' severity rises with it).
        self.session_running = False
        self._settings = settings
        self._writer_healthy_for = writer_healthy_for
        self._clock = clock
        self._schedule = Schedule(settings.gonogo_lead, settings.gonogo_recheck)
        self._leading = False
        self._failing = False
        self._reset()

    def _reset(self) -> None:
        """Forget everything held for leading: whoever leads next rebuilds it from the database."""
        self._resumed = False
        self._sites: dict[str, SiteState] = {}
        self._calendar: tuple[int, Calendar] | None = None
        self._unreadable: int | None = None
        self._gonogo_open: set[tuple[str, str]] = set()
        self._gonogo_refreshed: datetime | None = None
        self._checkin_cursor: Cursor[tuple[str, str, int]] = Cursor()
        self._quarantine_cursor: Cursor[int] = Cursor()
        self._rescanned: datetime | None = None
        self._schedule.reset()
        if self._health is not None:
            self._health.reset()

    # --- the loop ------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._settings.tick.total_seconds()):
            self.tick_safely()

    def tick_safely(self) -> None:
        try:
            self.tick(self._clock())
        except StoreUnavailable as exc:
            if not self._failing:
                log.warning("rules paused, database unavailable: %s", exc)
                self._failing = True
            self._reset()  # the lock may be gone with the connection
            return
        except StoreError:
            log.exception("rules evaluation failed")
            return
        if self._failing:
            log.info("rules resumed")
            self._failing = False

    def tick(self, now: datetime) -> None:
        if self._writer_healthy_for() < self._settings.settle.total_seconds():
            return
        leading = self._io.lead()
        if leading != self._leading:
            self._leading = leading
            log.info("%s", "this hub now evaluates the rules" if leading else "another hub evaluates the rules")
        if not leading:
            self._reset()
            return
        if not self._resumed:
            self._resume(now)
        self._security(now)
        calendar = self._current_calendar()
        self.session_running = in_session(calendar, now)
        if self._health is not None:
            _log_changes(self._health.tick(now, calendar))
        if calendar is None:
            return
        self._evaluate(calendar, now)
        self._checkins(calendar, now)

    # --- restart ---------------------------------------------------------------------------------------

    def _resume(self, now: datetime) -> None:
        rows = self._io.open_rule_alerts()
        by_site: dict[str, list[OpenRuleAlert]] = {}
        for row in rows:
            by_site.setdefault(row.site, []).append(row)
        self._sites = {site: resume_site(alerts, now) for site, alerts in by_site.items()}
        self._sites = {site: state for site, state in self._sites.items() if not state.empty}
        self._gonogo_open = _gonogo_keys(rows)
        self._gonogo_refreshed = now
        self._checkin_cursor = Cursor(self._io.cursor(CHECKINS))
        self._quarantine_cursor = Cursor(self._io.cursor(QUARANTINE) or now - QUARANTINE_LOOKBACK)
        self._resumed = True
        if rows:
            log.info("rules: resumed %d open alert(s)", len(rows))

    # --- the calendar ----------------------------------------------------------------------------------

    def _current_calendar(self) -> Calendar | None:
        version = self._io.calendar_version()
        if version is None:
            return None
        current = None if self._calendar is None else self._calendar[1]
        if (self._calendar is not None and self._calendar[0] == version) or version == self._unreadable:
            return current
        stored = self._io.latest_calendar()
        if stored is None:
            return None
        try:
            calendar = parse_calendar(stored[1], f"calendar version {stored[0]}")
        except CalendarError as exc:
            # It was checked on import; a hub of an older version may read a newer format differently.
            log.error(  # noqa: TRY400  # the reasons are the message; no traceback helps
                "the imported calendar (version %d) cannot be read, keeping the one before: %s", stored[0], exc
            )
            self._unreadable = stored[0]
            return current
        self._calendar = (stored[0], calendar)
        self._schedule.reset()
        log.info("rules: calendar version %d in force (%d session(s))", stored[0], len(calendar.sessions))
        return calendar

    # --- sites -----------------------------------------------------------------------------------------

    def _evaluate(self, calendar: Calendar, now: datetime) -> None:
        s = self._settings
        named = calendar.sites()
        sites = named | self._sites.keys()
        views = self._io.site_views(sites, now)
        custody = [c.collection for c in calendar.custody]
        arrivals = self._io.arrivals(min(custody)) if custody else {}
        states: dict[str, SiteState] = {}
        changes: list[AlertChange] = []
        for site in sorted(sites):
            view = views.get(site) or SiteView(site)
            findings = (
                evaluate_site(calendar, view, now, arrival_reported_at=arrivals.get(site), settings=s)
                if site in named
                else SiteFindings()
            )
            state, site_changes = advance_site(self._sites.get(site, SiteState()), findings, view, now, s)
            states[site] = state
            changes += site_changes
        changes += self._gonogo(calendar, views, now)
        applied = self._io.apply(changes) if changes else []
        _log_changes(applied)
        # Only once applied: a failed write leaves the old state, so the next tick decides again.
        self._sites = {site: state for site, state in states.items() if not state.empty}
        for change in applied:
            key = _gonogo_key(change.fingerprint)
            if key is not None and isinstance(change, OpenAlert):
                self._gonogo_open.add(key)
            elif key is not None and isinstance(change, CloseAlert):
                self._gonogo_open.discard(key)

    def _gonogo(self, calendar: Calendar, views: Mapping[str, SiteView], now: datetime) -> list[AlertChange]:
        changes: list[AlertChange] = []
        if self._gonogo_refreshed is None or now - self._gonogo_refreshed >= REFRESH_GONOGO:
            # The dashboard's on-demand runs open and close these too.
            self._gonogo_open = _gonogo_keys(self._io.open_rule_alerts())
            self._gonogo_refreshed = now
        due = self._schedule.take(calendar, now)
        if due:
            more = self._io.site_views({site for site, _ in due} - views.keys(), now)
            views = {**views, **more}
        for site, session in due:
            view = views.get(site) or SiteView(site)
            result = evaluate(readiness.site_snapshot(view, session, calendar.version), now, self._settings.gonogo)
            self._io.record_gonogo(result, "schedule", "")
            changes += readiness.verdict_changes(result, view, now)
            self._schedule.done(site, session, result.green, now)
            verdict = "GO" if result.green else "NO-GO: " + "; ".join(result.reasons)
            log.info("go / no-go %s before %s: %s", site, session.id, verdict)
        changes += readiness.ended_changes(self._gonogo_open, calendar, now)
        return changes

    # --- streams ---------------------------------------------------------------------------------------

    def _security(self, now: datetime) -> None:
        cursor = self._quarantine_cursor
        after = cursor.after()
        rows = self._io.identity_mismatches(after if after is not None else now - QUARANTINE_LOOKBACK)
        fresh = set(cursor.fresh((r.key, r.received_at) for r in rows))
        changes: list[AlertChange] = [a for a in (security_alert(r) for r in rows if r.key in fresh) if a is not None]
        if changes:
            _log_changes(self._io.apply(changes))
        if fresh and cursor.position is not None:
            self._io.set_cursor(QUARANTINE, cursor.position, now)

    def _checkins(self, calendar: Calendar, now: datetime) -> None:
        window = checkin_window(calendar, now)
        if window is None:
            return
        floor, until = window
        cursor = self._checkin_cursor
        rescan = self._rescanned is None or now - self._rescanned >= RESCAN
        # Live check-ins carry the agent's time of now; replays from an outbox are older and found by the
        # slower full scan of the window.
        time_from = floor if rescan else max(floor, now - RECENT)
        if rescan:
            self._rescanned = now
        rows = self._io.checkins(received_after=cursor.after(), time_from=time_from, time_until=until)
        fresh = set(cursor.fresh((r.key, r.received_at) for r in rows))
        changes: list[AlertChange] = []
        for row in rows:
            if row.key not in fresh:
                continue
            checkin = row.checkin()
            session = None if checkin is None else checkin_session(calendar, checkin)
            if checkin is None or session is None:
                continue
            earlier = self._io.checkins_of(checkin.candidate, session.checkin_start, session.end)
            alert = duplicate_alert(row, earlier, session)
            if alert is not None:
                changes.append(alert)
        if changes:
            _log_changes(self._io.apply(changes))
        if fresh and cursor.position is not None:
            self._io.set_cursor(CHECKINS, cursor.position, now)


def _gonogo_key(fingerprint: str) -> tuple[str, str] | None:
    """(site, session) of a go / no-go alert's fingerprint ``gonogo:<city>/<site>:<session>``."""
    parts = fingerprint.split(":")
    return (parts[1], parts[2]) if len(parts) == 3 and parts[0] == readiness.KIND else None


def _gonogo_keys(rows: Sequence[OpenRuleAlert]) -> set[tuple[str, str]]:
    keys = (_gonogo_key(r.fingerprint) for r in rows if r.kind == readiness.KIND)
    return {k for k in keys if k is not None}


def _log_changes(changes: Collection[AlertChange]) -> None:
    for change in changes:
        if isinstance(change, OpenAlert):
            log.warning("alert %s (%s): %s", change.fingerprint, change.severity, change.summary)
        elif isinstance(change, RaiseSeverity):
            log.warning("alert %s raised to %s: %s", change.fingerprint, change.severity, change.summary)
        else:
            log.info("alert %s cleared", change.fingerprint)
