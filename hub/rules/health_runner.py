"""Where the health rules run.

:class:`HealthRules` — inside the rules engine's tick, on the hub leading the rules: the agents' outbox and
clock, and the deliveries to the province (all read from the database).

:class:`HubMonitor` — in every hub process, a thread of its own: the process's database connection and its
ingest queue.  "Database unreachable" cannot be stored in the database it cannot reach, so it is

* kept in memory and shown on ``/healthz`` (``hub_alerts``; the endpoint answers 503 meanwhile) and in the
  log (ERROR, once when it fires);
* stored once the database is back — opened at the time the condition began, closed when it cleared —
  and from there notified and escalated like any alert, so the desk and the province learn of the outage
  and its length after the fact.

Notifying directly during the outage is deliberately not done: every notification is written to the
outbox in the transaction that decided it (exactly-once delivery with receipts), and a second, unrecorded
path would bypass it.  The ingest lag alert follows the same path (held while the database is down).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from hub.calendar import Calendar
from hub.errors import StoreError, StoreUnavailable
from hub.rules import health
from hub.rules.changes import CLOSED_BECAUSE, AlertChange, CloseAlert, OpenAlert, RaiseSeverity
from hub.rules.health import AgentHealth, GoneCheck, HealthFinding, HealthState, ProvinceBacklog
from hub.rules.health_config import HealthSection
from protocol.messages import Severity

log = logging.getLogger("sitewatch.hub.rules")


def in_session(calendar: Calendar | None, now: datetime, site: str | None = None) -> bool:
    """Whether a session (at ``site``, or anywhere in the calendar) is in its check-in or sitting at ``now``."""
    if calendar is None:
        return False
    sessions = calendar.sessions if site is None else calendar.sessions_at(site)
    return any(s.checkin_start <= now < s.end for s in sessions)


class HealthIO(Protocol):
    def agent_health(self, now: datetime, fresh_for: timedelta, thinned_within: timedelta) -> list[AgentHealth]: ...

    def province_backlog(self) -> ProvinceBacklog: ...

    def open_health_alerts(self) -> list[tuple[HealthFinding, datetime]]: ...

    def monitor_connections(self) -> set[str]: ...

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]: ...


class HealthRules:
    """The agents' delivery path and the province deliveries, evaluated by the leading rules engine; and
    the alerts of hub processes that are gone, closed."""

    def __init__(
        self,
        io: HealthIO,
        policy: HealthSection,
        city: str,
        *,
        province: bool,
        gone_after: timedelta = health.PROCESS_GONE_AFTER,
    ) -> None:
        self._io = io
        self._policy = policy
        self._city = city
        self._province = province
        self._gone_after = gone_after
        self.reset()

    def reset(self) -> None:
        self._state: HealthState | None = None
        self._gone = GoneCheck()

    def tick(self, now: datetime, calendar: Calendar | None) -> list[AlertChange]:
        p = self._policy
        if self._state is None:
            # Only the rules engine's kinds: the hub processes' own alerts are their monitors' to clear.
            rows = [
                (f, at) for f, at in self._io.open_health_alerts() if f.kind in (*health.AGENT_KINDS, health.PROVINCE)
            ]
            self._state = health.resume(rows, now)
        found: list[HealthFinding] = []
        agents = self._io.agent_health(
            now, timedelta(seconds=p.heartbeat_fresh_s), timedelta(seconds=p.outbox.thinned_within_s)
        )
        for agent in agents:
            site = agent.agent_id.rsplit("/", 1)[0]
            found += health.agent_findings(agent, now, p, in_session=in_session(calendar, now, site))
        if self._province:
            backlog = self._io.province_backlog()
            finding = health.province_finding(self._city, backlog, now, p, in_session=in_session(calendar, now))
            if finding is not None:
                found.append(finding)
        state, changes = health.advance(self._state, found, now, p)
        changes += self._gone_processes(now)
        applied = self._io.apply(changes) if changes else []
        self._state = state
        return applied

    def _gone_processes(self, now: datetime) -> list[AlertChange]:
        """Close the alerts of hub processes gone for good: nobody else would (see :func:`health.gone_processes`)."""
        mine = [f for f, _ in self._io.open_health_alerts() if f.kind in health.PROCESS_KINDS]
        if not mine and not self._gone.absent_since:
            return []  # the usual case: no process alert open, nothing to look up
        check, gone = health.gone_processes(self._gone, mine, self._io.monitor_connections(), now, self._gone_after)
        for f in gone:
            since = check.absent_since[f.agent_id]
            log.warning(
                "closing %s: no monitor connection of hub process %s seen since %s", f.fingerprint, f.agent_id, since
            )
        self._gone = check
        return [
            CloseAlert(
                f.fingerprint,
                now,
                {CLOSED_BECAUSE: health.PROCESS_GONE, "missed_since": check.absent_since[f.agent_id].isoformat()},
            )
            for f in gone
        ]


# --- the hub process itself -------------------------------------------------------------------------------


class ProbeIO(Protocol):
    def ping(self) -> None: ...

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]: ...

    def open_health_alerts(self) -> list[tuple[HealthFinding, datetime]]: ...


@dataclass(frozen=True, slots=True)
class HeldAlert:
    """A hub alert as this process holds it (for ``/healthz``), stored or not."""

    kind: str
    severity: Severity
    summary: str
    since: datetime
    stored: bool


def _utcnow() -> datetime:
    return datetime.now(UTC)


class HubMonitor:
    """One hub process's own health: its database connection and its ingest queue."""

    def __init__(
        self,
        io: ProbeIO,
        policy: HealthSection,
        city: str,
        process: str,
        *,
        queue: Callable[[], tuple[int, float | None]] = lambda: (0, None),
        in_session: Callable[[], bool] = lambda: False,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._io = io
        self._policy = policy
        self._city = city
        self._process = process
        self._queue = queue
        self._in_session = in_session
        self._clock = clock
        self._lock = threading.Lock()
        self._state = HealthState()
        self._unstored: list[AlertChange] = []
        self._down_since: datetime | None = None
        self._error = ""
        self._resumed = False

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._policy.database.probe_s):
            self.tick(self._clock())

    def tick(self, now: datetime) -> None:
        reachable = self._probe(now)
        if reachable and not self._resumed:
            self._resume(now)
        found: list[HealthFinding] = []
        db = health.database_finding(self._city, self._process, self._down_since, self._error, self._policy)
        if db is not None:
            found.append(db)
        depth, oldest = self._queue()
        lag = health.ingest_lag_finding(
            self._city, self._process, depth, oldest, self._policy, in_session=self._in_session()
        )
        if lag is not None:
            found.append(lag)
        state, changes = health.advance(self._state, found, now, self._policy)
        with self._lock:
            self._state = state
            self._unstored += changes
        for change in changes:
            _log(change)
        if reachable:
            self._flush()

    def _probe(self, now: datetime) -> bool:
        try:
            self._io.ping()
        except StoreError as exc:
            if self._down_since is None:
                log.warning("database unreachable from this hub process: %s", exc)
                self._down_since = now
            self._error = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            return False
        if self._down_since is not None:
            log.info("database reachable again after %.0f s", (now - self._down_since).total_seconds())
            self._down_since = None
            # Meanwhile the leading hub may have taken this process for gone and closed its alerts.
            self._resumed = False
        return True

    def _resume(self, now: datetime) -> None:
        """Take over this process's alerts left open by its previous run, so they clear if all is well; after
        an outage, raise again what still holds but was closed meanwhile."""
        try:
            rows = self._io.open_health_alerts()
        except StoreError:
            return
        mine = health.hub_agent(self._city, self._process)
        held = [(f, at) for f, at in rows if f.kind in health.PROCESS_KINDS and f.agent_id == mine]
        resumed = health.resume(held, now)
        with self._lock:
            pending = {c.fingerprint for c in self._unstored if isinstance(c, OpenAlert)}
            state = health.reconcile(self._state, resumed.written, pending)
            self._state = HealthState({**resumed.tracked, **state.tracked}, {**resumed.written, **state.written})
        self._resumed = True

    def _flush(self) -> None:
        with self._lock:
            pending = list(self._unstored)
        if not pending:
            return
        try:
            self._io.apply(pending)
        except StoreUnavailable:
            return  # kept for the next tick
        except StoreError:
            log.exception("storing the hub's own alerts failed; dropping %d change(s)", len(pending))
        with self._lock:
            self._unstored = self._unstored[len(pending) :]

    def held(self) -> list[HeldAlert]:
        """This process's raised alerts, for ``/healthz``: what the database may not have yet."""
        with self._lock:
            tracked = self._state.tracked
            unstored = {c.fingerprint for c in self._unstored if isinstance(c, OpenAlert | RaiseSeverity)}
            out = [
                HeldAlert(t.finding.kind, t.finding.severity, t.finding.summary, t.first_seen, fp not in unstored)
                for fp, t in sorted(tracked.items())
                if t.raised_at is not None
            ]
        return out


def _log(change: AlertChange) -> None:
    if isinstance(change, OpenAlert):
        log.error("hub alert %s (%s): %s", change.fingerprint, change.severity, change.summary)
    elif isinstance(change, RaiseSeverity):
        log.error("hub alert %s raised to %s: %s", change.fingerprint, change.severity, change.summary)
    elif isinstance(change, CloseAlert):
        log.info("hub alert %s cleared", change.fingerprint)


def process_slug(client_id: str) -> str:
    """A hub process's name as it appears in its alerts' stand-in agent id (a slug of its MQTT client id)."""
    slug = re.sub(r"[^a-z0-9_-]+", "-", client_id.lower()).strip("-_")[:32]
    return slug or "hub"
