"""Health rules: the agents' delivery path (outbox near full, clock skew) and the hub's own (database
unreachable, ingest lag, province deliveries failing).  Pure: measurements and ``now`` in, findings out;
:func:`advance` adds the shared hysteresis (:mod:`hub.rules.hysteresis`) and turns decisions into alert
changes.

Kinds (the dashboard's text for each is ``alert_kind.<kind>`` / ``alert_text.<kind>`` in hub/i18n):
    agent.outbox_near_full      an agent holds undelivered messages near its outbox bound, or thins them
    agent.clock_skew            an agent's clock is off the hub's by more than the bound
    hub.database_unreachable    this hub process cannot reach PostgreSQL (kept in memory until it can)
    hub.ingest_lag              this hub process's ingest queue is deep or old
    hub.province_delivery       deliveries to the provincial center keep failing

A warning rises in place to the rule's ``in_session`` severity while an exam session runs.  A hub process
clears its own two alerts; if it is gone for good, the leading hub closes them (:func:`gone_processes`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final, Literal

from hub.rules import hysteresis
from hub.rules.changes import AlertChange, CloseAlert, OpenAlert, RaiseSeverity, higher
from hub.rules.health_config import HealthSection, _Rule
from protocol.messages import Scalar, Severity

Rule = Literal["outbox", "clock_skew", "database", "ingest_lag", "province_delivery"]

OUTBOX: Final = "agent.outbox_near_full"
CLOCK_SKEW: Final = "agent.clock_skew"
DATABASE: Final = "hub.database_unreachable"
INGEST_LAG: Final = "hub.ingest_lag"
PROVINCE: Final = "hub.province_delivery"
AGENT_KINDS: Final = (OUTBOX, CLOCK_SKEW)
HUB_KINDS: Final = (DATABASE, INGEST_LAG, PROVINCE)
# The kinds each hub process raises and clears for itself (its monitor): nobody else clears them while it runs.
PROCESS_KINDS: Final = (DATABASE, INGEST_LAG)
# A process whose monitor has had no database connection this long is gone (decommissioned, or dead and not
# restarted): its own alerts then close.  Long enough for any restart; a process merely cut off from the
# database reopens what still holds when it is back (``reconcile``).
PROCESS_GONE_AFTER: Final = timedelta(minutes=10)
# ``closed_because`` of an alert closed so (with ``missed_since``: when the leading hub first missed it).
PROCESS_GONE: Final = "process_gone"
# PostgreSQL keeps the first 63 bytes of a connection's application_name (NAMEDATALEN - 1).
_APPLICATION_NAME_MAX: Final = 63
PROBE_PREFIX: Final = "sitewatch-probe "
_RULE_OF: Final[dict[str, Rule]] = {
    OUTBOX: "outbox",
    CLOCK_SKEW: "clock_skew",
    DATABASE: "database",
    INGEST_LAG: "ingest_lag",
    PROVINCE: "province_delivery",
}
# The hub's own alerts name no agent of a site: this stands in for one (``<city>/hub/<process>``).
HUB_SITE: Final = "hub"


@dataclass(frozen=True, slots=True)
class HealthFinding:
    fingerprint: str
    kind: str
    severity: Severity
    agent_id: str
    summary: str
    details: Mapping[str, Scalar] = field(default_factory=dict)


def _rule(policy: HealthSection, kind: str) -> _Rule:
    rule: _Rule = getattr(policy, _RULE_OF[kind])
    return rule


def _severity(rule: _Rule, in_session: bool) -> Severity:
    return rule.in_session if in_session and higher(rule.in_session, rule.severity) else rule.severity


# --- agents ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentHealth:
    """An agent's latest live heartbeat as the hub holds it; ``heartbeat_at`` is the hub's receive time."""

    agent_id: str
    heartbeat_at: datetime | None
    clock_offset_s: float | None = None
    outbox_depth: int | None = None
    outbox_capacity: int | None = None
    outbox_oldest_s: float | None = None
    # The hub's receive time of the agent's latest ``outbox.thinned`` event.
    thinned_at: datetime | None = None


def agent_findings(
    agent: AgentHealth, now: datetime, policy: HealthSection, *, in_session: bool
) -> tuple[HealthFinding, ...]:
    """What is wrong with the agent's delivery path at ``now``; no hysteresis.  A stale heartbeat says
    nothing (the agent is offline, which is an alert of its own)."""
    if agent.heartbeat_at is None or now - agent.heartbeat_at > timedelta(seconds=policy.heartbeat_fresh_s):
        return ()
    found: list[HealthFinding] = []
    outbox = _outbox(agent, now, policy, in_session)
    if outbox is not None:
        found.append(outbox)
    skew = _clock(agent, policy, in_session)
    if skew is not None:
        found.append(skew)
    return tuple(found)


def _outbox(agent: AgentHealth, now: datetime, policy: HealthSection, in_session: bool) -> HealthFinding | None:
    rule = policy.outbox
    if not rule.enabled or agent.outbox_depth is None:
        return None
    capacity = agent.outbox_capacity or rule.default_capacity
    ratio = agent.outbox_depth / capacity
    thinned = agent.thinned_at is not None and now - agent.thinned_at <= timedelta(seconds=rule.thinned_within_s)
    oldest = agent.outbox_oldest_s
    old = oldest is not None and oldest >= rule.warning_oldest_s
    if thinned or ratio >= rule.critical_ratio:
        severity: Severity = "critical"
    elif ratio >= rule.warning_ratio or old:
        severity = _severity(rule, in_session)
    else:
        return None
    percent = round(ratio * 100, 1)
    why = "and thinning readings" if thinned else f"{percent}% full"
    summary = f"Outbox of agent {agent.agent_id} {why}: {agent.outbox_depth} of {capacity} messages undelivered"
    details: dict[str, Scalar] = {
        "agent": agent.agent_id,
        "depth": agent.outbox_depth,
        "capacity": capacity,
        "percent": percent,
        "oldest_s": None if oldest is None else round(oldest),
        "thinned": thinned,
    }
    return HealthFinding(f"{OUTBOX}:{agent.agent_id}", OUTBOX, severity, agent.agent_id, summary, details)


def _clock(agent: AgentHealth, policy: HealthSection, in_session: bool) -> HealthFinding | None:
    rule = policy.clock_skew
    offset = agent.clock_offset_s
    if not rule.enabled or offset is None or abs(offset) <= rule.max_offset_s:
        return None
    summary = f"Clock of agent {agent.agent_id} is {offset:+.1f} s off the hub's (bound {rule.max_offset_s:g} s)"
    details: dict[str, Scalar] = {"agent": agent.agent_id, "offset_s": round(offset, 1), "bound_s": rule.max_offset_s}
    severity = _severity(rule, in_session)
    return HealthFinding(f"{CLOCK_SKEW}:{agent.agent_id}", CLOCK_SKEW, severity, agent.agent_id, summary, details)


# --- the hub itself ---------------------------------------------------------------------------------------


def hub_agent(city: str, process: str) -> str:
    """The stand-in agent id of a hub process's own alerts."""
    return f"{city}/{HUB_SITE}/{process}"


def probe_application_name(agent_id: str) -> str:
    """The ``application_name`` of a hub process's monitor connection (``agent_id`` is its
    :func:`hub_agent`): the leading hub tells from ``pg_stat_activity`` which processes are there.  Hashed
    when it would not fit, so that a long name is never cut to another process's."""
    name = PROBE_PREFIX + agent_id
    if len(name.encode()) <= _APPLICATION_NAME_MAX:
        return name
    return PROBE_PREFIX + hashlib.sha256(agent_id.encode()).hexdigest()[: _APPLICATION_NAME_MAX - len(PROBE_PREFIX)]


@dataclass(frozen=True, slots=True)
class GoneCheck:
    """Per hub process with open alerts of its own: since when the leading hub has not seen its monitor
    connected, and the fingerprints it has already closed (a flapping alert stays open a while)."""

    absent_since: Mapping[str, datetime] = field(default_factory=dict)
    closed: frozenset[str] = frozenset()


def gone_processes(
    check: GoneCheck,
    open_alerts: Iterable[HealthFinding],
    connected: Collection[str],
    now: datetime,
    gone_after: timedelta = PROCESS_GONE_AFTER,
) -> tuple[GoneCheck, list[HealthFinding]]:
    """The open process alerts whose process has had no monitor connection (``connected``: application
    names) for ``gone_after``: close them, their process no longer checks them."""
    absent: dict[str, datetime] = {}
    gone: list[HealthFinding] = []
    closed: set[str] = set()
    for finding in open_alerts:
        if finding.kind not in PROCESS_KINDS or probe_application_name(finding.agent_id) in connected:
            continue
        since = absent.setdefault(finding.agent_id, check.absent_since.get(finding.agent_id, now))
        if now - since < gone_after:
            continue
        closed.add(finding.fingerprint)
        if finding.fingerprint not in check.closed:
            gone.append(finding)
    return GoneCheck(absent, frozenset(closed)), gone


def database_finding(
    city: str, process: str, down_since: datetime | None, error: str, policy: HealthSection
) -> HealthFinding | None:
    """This process cannot reach the database (since ``down_since``); ``for_s`` is the hysteresis's."""
    rule = policy.database
    if not rule.enabled or down_since is None:
        return None
    agent = hub_agent(city, process)
    summary = f"Hub {city} ({process}) cannot reach its database: {error}"
    details: dict[str, Scalar] = {"hub": city, "process": process, "since": down_since.isoformat(), "error": error}
    return HealthFinding(f"{DATABASE}:{agent}", DATABASE, rule.severity, agent, summary, details)


def ingest_lag_finding(
    city: str, process: str, depth: int, oldest_s: float | None, policy: HealthSection, *, in_session: bool
) -> HealthFinding | None:
    """The ingest queue of this process: ``depth`` messages waiting, the oldest for ``oldest_s``."""
    rule = policy.ingest_lag
    age = oldest_s or 0.0
    if not rule.enabled or (depth < rule.max_depth and age < rule.max_age_s):
        return None
    severity: Severity = "critical" if age >= rule.critical_age_s else _severity(rule, in_session)
    agent = hub_agent(city, process)
    summary = f"Hub {city} ({process}) ingest lags: {depth} messages queued, the oldest for {age:.0f} s"
    details: dict[str, Scalar] = {"hub": city, "process": process, "depth": depth, "oldest_s": round(age, 1)}
    return HealthFinding(f"{INGEST_LAG}:{agent}", INGEST_LAG, severity, agent, summary, details)


@dataclass(frozen=True, slots=True)
class ProvinceBacklog:
    """Undelivered notifications to the provincial center that have failed at least once."""

    failing: int
    # Queued at: the oldest of them.
    oldest_at: datetime | None
    attempts: int = 0
    last_error: str | None = None


def province_finding(
    city: str, backlog: ProvinceBacklog, now: datetime, policy: HealthSection, *, in_session: bool
) -> HealthFinding | None:
    """Deliveries to the province failing for ``after_minutes`` (measured from the oldest failing one's
    queueing, so a restart of the hub does not restart the count)."""
    rule = policy.province_delivery
    if not rule.enabled or backlog.failing == 0 or backlog.oldest_at is None:
        return None
    failing_for = now - backlog.oldest_at
    if failing_for < timedelta(minutes=rule.after_minutes):
        return None
    minutes = int(failing_for.total_seconds() // 60)
    agent = hub_agent(city, "province")
    summary = (
        f"Hub {city}: {backlog.failing} notification(s) to the provincial center undelivered for {minutes} min"
        f" ({backlog.attempts} attempts; last error: {backlog.last_error or 'none'})"
    )
    details: dict[str, Scalar] = {
        "hub": city,
        "failing": backlog.failing,
        "minutes": minutes,
        "attempts": backlog.attempts,
        "error": backlog.last_error or "",
    }
    return HealthFinding(f"{PROVINCE}:{city}", PROVINCE, _severity(rule, in_session), agent, summary, details)


# --- hysteresis -----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HealthState:
    tracked: Mapping[str, hysteresis.Tracked[HealthFinding]] = field(default_factory=dict)
    # The severity each raised alert has in the database, so a rise (warning → critical when a session
    # starts or the outbox starts thinning) updates it in place.
    written: Mapping[str, Severity] = field(default_factory=dict)


def advance(
    state: HealthState, findings: Iterable[HealthFinding], now: datetime, policy: HealthSection
) -> tuple[HealthState, list[AlertChange]]:
    """One tick of the health rules' hysteresis over the whole scope ``state`` covers."""
    tracked, decisions = hysteresis.track(
        state.tracked,
        findings,
        now,
        delay=lambda f: timedelta(seconds=_rule(policy, f.kind).for_s),
        clear_after=timedelta(seconds=policy.clear_after_s),
    )
    written = dict(state.written)
    changes: list[AlertChange] = []
    for d in decisions:
        f = d.finding
        if isinstance(d, hysteresis.Raise):
            # The alert starts when the condition did: ``for`` is part of how long it has been wrong.
            changes.append(
                OpenAlert(f.fingerprint, f.kind, f.severity, f.agent_id, f.summary, d.since, None, f.details)
            )
            written[f.fingerprint] = f.severity
        else:
            changes.append(CloseAlert(f.fingerprint, now))
            written.pop(f.fingerprint, None)
    for fingerprint, item in tracked.items():
        before = written.get(fingerprint)
        f = item.finding
        if item.raised_at is not None and before is not None and higher(f.severity, before):
            changes.append(RaiseSeverity(fingerprint, f.severity, f.summary, f.details))
            written[fingerprint] = f.severity
    return HealthState(tracked, written), changes


def resume(open_alerts: Iterable[tuple[HealthFinding, datetime]], now: datetime) -> HealthState:
    """The state under which alerts still open from before a restart clear by the usual rule."""
    items = list(open_alerts)
    return HealthState(hysteresis.resumed(items, now), {f.fingerprint: f.severity for f, _ in items})


def reconcile(state: HealthState, still_open: Collection[str], pending: Collection[str]) -> HealthState:
    """``state`` after the database was out of reach: an alert it holds as stored that is no longer open
    there (the leading hub took this process for gone and closed it) is raised again if its condition
    still holds — as if it had never been raised, so the next :func:`advance` opens it anew.  ``pending``:
    openings not yet stored, which need nothing."""
    lost = {fp for fp in state.written if fp not in still_open and fp not in pending}
    if not lost:
        return state
    tracked = {fp: replace(t, raised_at=None) if fp in lost else t for fp, t in state.tracked.items()}
    return HealthState(tracked, {fp: s for fp, s in state.written.items() if fp not in lost})
