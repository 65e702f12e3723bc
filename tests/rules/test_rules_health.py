"""The health rules, pure: tables of measurements → findings, and timelines → alert changes."""

from __future__ import annotations

import queue
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import HubConfigError, StoreUnavailable
from hub.ingest.inbound import Inbound
from hub.rules import health
from hub.rules.changes import AlertChange, CloseAlert, OpenAlert, RaiseSeverity
from hub.rules.health import AgentHealth, HealthFinding, HealthState, ProvinceBacklog
from hub.rules.health_config import HealthSection
from hub.rules.health_runner import HealthRules, HubMonitor, process_slug
from hub.rules.settings import RulesSettings
from hub.stats import queue_reader

T0 = datetime(2026, 6, 6, 8, 0, tzinfo=UTC)
AGENT = "jinan/s01/a1"
POLICY = HealthSection.model_validate(
    {
        "clear_after_s": 5.0,
        "outbox": {"for_s": 3.0, "warning_ratio": 0.8, "critical_ratio": 0.95, "warning_oldest_s": 600.0},
        "clock_skew": {"for_s": 2.0, "max_offset_s": 1.0},
        "database": {"for_s": 4.0},
        "ingest_lag": {"for_s": 2.0, "max_depth": 1000, "max_age_s": 10.0, "critical_age_s": 60.0},
        "province_delivery": {"after_minutes": 10.0},
    }
)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def agent(**kw: object) -> AgentHealth:
    values: dict[str, object] = {"agent_id": AGENT, "heartbeat_at": T0, "clock_offset_s": 0.1, "outbox_depth": 0}
    values.update(kw)
    return AgentHealth(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("measured", "session", "expected"),
    [
        ({}, False, []),
        ({"outbox_depth": 79, "outbox_capacity": 100}, False, []),
        ({"outbox_depth": 80, "outbox_capacity": 100}, False, [("agent.outbox_near_full", "warning")]),
        ({"outbox_depth": 80, "outbox_capacity": 100}, True, [("agent.outbox_near_full", "critical")]),
        ({"outbox_depth": 95, "outbox_capacity": 100}, False, [("agent.outbox_near_full", "critical")]),
        # No capacity in the heartbeat: the configured default bound (500,000).
        ({"outbox_depth": 80}, False, []),
        ({"outbox_depth": 400_000}, False, [("agent.outbox_near_full", "warning")]),
        # Old undelivered messages, however few.
        ({"outbox_depth": 3, "outbox_capacity": 100, "outbox_oldest_s": 600.0}, False,
         [("agent.outbox_near_full", "warning")]),
        # Thinning reported recently: critical at any depth; long ago: nothing.
        ({"outbox_depth": 5, "outbox_capacity": 100, "thinned_at": T0 - timedelta(seconds=60)}, False,
         [("agent.outbox_near_full", "critical")]),
        ({"outbox_depth": 5, "outbox_capacity": 100, "thinned_at": T0 - timedelta(hours=1)}, False, []),
        # The clock: beyond 1 s either way.
        ({"clock_offset_s": 1.0}, False, []),
        ({"clock_offset_s": -1.6}, False, [("agent.clock_skew", "warning")]),
        ({"clock_offset_s": 2.5}, True, [("agent.clock_skew", "critical")]),
        ({"clock_offset_s": 2.5, "outbox_depth": 90, "outbox_capacity": 100}, False,
         [("agent.outbox_near_full", "warning"), ("agent.clock_skew", "warning")]),
        # A stale heartbeat says nothing about now (the agent is offline: an alert of its own).
        ({"clock_offset_s": 5.0, "heartbeat_at": T0 - timedelta(seconds=61)}, False, []),
        ({"clock_offset_s": 5.0, "heartbeat_at": None}, False, []),
    ],
)  # fmt: skip
def test_agent_findings(measured: dict[str, object], session: bool, expected: list[tuple[str, str]]) -> None:
    found = health.agent_findings(agent(**measured), T0, POLICY, in_session=session)
    assert [(f.kind, f.severity) for f in found] == expected
    for f in found:
        assert f.agent_id == AGENT
        assert f.fingerprint == f"{f.kind}:{AGENT}"


def test_outbox_summary_names_the_numbers() -> None:
    (f,) = health.agent_findings(agent(outbox_depth=85, outbox_capacity=100), T0, POLICY, in_session=False)
    assert f.details["percent"] == 85.0
    assert f.details["depth"] == 85
    assert f.details["capacity"] == 100
    assert "85.0% full" in f.summary


def test_a_disabled_rule_finds_nothing() -> None:
    off = POLICY.model_copy(update={"clock_skew": POLICY.clock_skew.model_copy(update={"enabled": False})})
    assert health.agent_findings(agent(clock_offset_s=9.0), T0, off, in_session=False) == ()


@pytest.mark.parametrize(
    ("depth", "oldest", "session", "expected"),
    [
        (0, None, False, None),
        (999, 9.9, False, None),
        (1000, None, False, "warning"),
        (5, 10.0, False, "warning"),
        (5, 10.0, True, "critical"),
        (5, 60.0, False, "critical"),
    ],
)
def test_ingest_lag(depth: int, oldest: float | None, session: bool, expected: str | None) -> None:
    f = health.ingest_lag_finding("jinan", "hub-1", depth, oldest, POLICY, in_session=session)
    assert (None if f is None else f.severity) == expected
    if f is not None:
        assert f.agent_id == "jinan/hub/hub-1"


@pytest.mark.parametrize(
    ("backlog", "minutes", "session", "expected"),
    [
        (ProvinceBacklog(0, None), 60, False, None),
        (ProvinceBacklog(2, T0, 7, "connection refused"), 9.9, False, None),
        (ProvinceBacklog(2, T0, 7, "connection refused"), 10, False, "warning"),
        (ProvinceBacklog(2, T0, 7, "connection refused"), 10, True, "critical"),
    ],
)
def test_province_delivery(backlog: ProvinceBacklog, minutes: float, session: bool, expected: str | None) -> None:
    now = T0 + timedelta(minutes=minutes)
    f = health.province_finding("jinan", backlog, now, POLICY, in_session=session)
    assert (None if f is None else f.severity) == expected
    if f is not None:
        assert "connection refused" in f.summary
        assert f.fingerprint == "hub.province_delivery:jinan"


def test_database_finding_only_while_down() -> None:
    assert health.database_finding("jinan", "p", None, "", POLICY) is None
    f = health.database_finding("jinan", "p", T0, "connection refused", POLICY)
    assert f is not None
    assert (f.kind, f.severity, f.agent_id) == ("hub.database_unreachable", "critical", "jinan/hub/p")


# --- timelines through the hysteresis ---------------------------------------------------------------------


def run(timeline: Sequence[tuple[float, Sequence[HealthFinding]]]) -> list[tuple[float, str, str]]:
    state = HealthState()
    out: list[tuple[float, str, str]] = []
    for s, found in timeline:
        state, changes = health.advance(state, found, at(s), POLICY)
        out += [(s, type(c).__name__, getattr(c, "severity", "")) for c in changes]
    return out


def outbox(depth: int, session: bool = False) -> tuple[HealthFinding, ...]:
    return health.agent_findings(agent(outbox_depth=depth, outbox_capacity=100), T0, POLICY, in_session=session)


@pytest.mark.parametrize(
    ("timeline", "expected"),
    [
        # Held 3 s ("for"): fires; 5 s after it was last seen (3 s): clears.
        ([(0, outbox(85)), (1, outbox(85)), (3, outbox(85)), (4, ()), (7, ()), (8, ()), (9, ())],
         [(3, "OpenAlert", "warning"), (8, "CloseAlert", "")]),
        # A blip shorter than "for" raises nothing.
        ([(0, outbox(85)), (2, ()), (3, outbox(85)), (5, ())], []),
        # Raised as a warning, it rises in place when the session starts; it never goes back down.
        ([(0, outbox(85)), (3, outbox(85)), (4, outbox(85, session=True)), (5, outbox(85))],
         [(3, "OpenAlert", "warning"), (4, "RaiseSeverity", "critical")]),
        # Coming back within clear_after keeps the one alert open.
        ([(0, outbox(85)), (3, outbox(85)), (5, ()), (7, outbox(90)), (11, outbox(90))], [(3, "OpenAlert", "warning")]),
    ],
)  # fmt: skip
def test_outbox_timelines(
    timeline: list[tuple[float, tuple[HealthFinding, ...]]], expected: list[tuple[float, str, str]]
) -> None:
    assert run(timeline) == expected


def test_the_alert_opens_when_the_condition_began() -> None:
    state, _ = health.advance(HealthState(), outbox(85), at(0), POLICY)
    _, changes = health.advance(state, outbox(85), at(3), POLICY)
    (opened,) = changes
    assert isinstance(opened, OpenAlert)
    assert opened.at == at(0)


def test_resumed_alerts_clear_when_their_condition_is_gone() -> None:
    (f,) = outbox(85)
    state = health.resume([(f, at(-100))], at(0))
    state, changes = health.advance(state, (), at(1), POLICY)
    assert changes == []
    _, changes = health.advance(state, (), at(5), POLICY)
    assert changes == [CloseAlert(f.fingerprint, at(5))]


# --- the runners with fakes at their seams -----------------------------------------------------------------


class FakeStore:
    """The database as the runners see it; ``up`` False makes every call fail as an outage does."""

    def __init__(self) -> None:
        self.up = True
        self.applied: list[AlertChange] = []
        self.agents: list[AgentHealth] = []
        self.backlog = ProvinceBacklog(0, None)
        self.open: list[tuple[HealthFinding, datetime]] = []
        self.connected: set[str] = set()

    def _check(self) -> None:
        if not self.up:
            raise StoreUnavailable("connection refused")

    def ping(self) -> None:
        self._check()

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        self._check()
        self.applied += changes
        return list(changes)

    def open_health_alerts(self) -> list[tuple[HealthFinding, datetime]]:
        self._check()
        return list(self.open)

    def monitor_connections(self) -> set[str]:
        self._check()
        return set(self.connected)

    def agent_health(self, now: datetime, fresh_for: timedelta, thinned_within: timedelta) -> list[AgentHealth]:
        self._check()
        return [a for a in self.agents if a.heartbeat_at is not None and now - a.heartbeat_at <= fresh_for]

    def province_backlog(self) -> ProvinceBacklog:
        self._check()
        return self.backlog


def test_database_unreachable_is_held_in_memory_and_stored_when_back() -> None:
    store = FakeStore()
    monitor = HubMonitor(store, POLICY, "jinan", "hub-1")
    monitor.tick(at(0))
    store.up = False
    for s in (1, 2, 3, 4, 5, 6):
        monitor.tick(at(s))
    # Fired after for_s (4 s from 1 s), held (not stored: the database is what is missing).
    (held,) = monitor.held()
    assert (held.kind, held.severity, held.stored, held.since) == ("hub.database_unreachable", "critical", False, at(1))
    assert store.applied == []
    store.up = True
    monitor.tick(at(7))
    (opened,) = store.applied
    assert isinstance(opened, OpenAlert)
    assert (opened.kind, opened.at, opened.agent_id) == ("hub.database_unreachable", at(1), "jinan/hub/hub-1")
    assert monitor.held()[0].stored
    for s in (8, 9, 10, 11, 12):
        monitor.tick(at(s))
    assert [type(c).__name__ for c in store.applied] == ["OpenAlert", "CloseAlert"]
    assert monitor.held() == []


def test_a_short_outage_raises_nothing() -> None:
    store = FakeStore()
    monitor = HubMonitor(store, POLICY, "jinan", "hub-1")
    store.up = False
    for s in (0, 1, 2):
        monitor.tick(at(s))
    store.up = True
    for s in (3, 4, 20):
        monitor.tick(at(s))
    assert store.applied == []
    assert monitor.held() == []


def test_ingest_lag_rises_with_the_queue_age() -> None:
    store = FakeStore()
    queue = {"value": (0, None)}
    monitor = HubMonitor(store, POLICY, "jinan", "hub-1", queue=lambda: queue["value"])  # type: ignore[arg-type,return-value]
    monitor.tick(at(0))
    queue["value"] = (20, 15.0)
    for s in (1, 2, 3):
        monitor.tick(at(s))
    queue["value"] = (20, 75.0)
    monitor.tick(at(4))
    queue["value"] = (0, None)
    for s in (5, 9, 10):
        monitor.tick(at(s))
    kinds = [(type(c).__name__, getattr(c, "severity", "")) for c in store.applied]
    assert kinds == [("OpenAlert", "warning"), ("RaiseSeverity", "critical"), ("CloseAlert", "")]


def test_health_rules_in_the_engine_tick() -> None:
    store = FakeStore()
    store.agents = [agent(clock_offset_s=3.0, heartbeat_at=at(0))]
    store.backlog = ProvinceBacklog(1, at(-3600), 12, "HTTP 502")
    rules = HealthRules(store, POLICY, "jinan", province=True)
    assert [type(c).__name__ for c in rules.tick(at(0), None)] == ["OpenAlert"]  # the province: no "for"
    opened = rules.tick(at(2), None)
    assert [(c.kind, c.severity) for c in opened if isinstance(c, OpenAlert)] == [("agent.clock_skew", "warning")]
    store.agents = []
    store.backlog = ProvinceBacklog(0, None)
    closed = rules.tick(at(8), None)
    assert sorted(c.fingerprint for c in closed if isinstance(c, CloseAlert)) == [
        f"agent.clock_skew:{AGENT}",
        "hub.province_delivery:jinan",
    ]


def test_a_city_without_a_province_does_not_read_its_deliveries() -> None:
    store = FakeStore()
    store.backlog = ProvinceBacklog(1, at(-3600), 12, "HTTP 502")
    assert HealthRules(store, POLICY, "jinan", province=False).tick(at(0), None) == []


def test_no_rise_without_a_session() -> None:
    store = FakeStore()
    rules = HealthRules(store, POLICY, "jinan", province=False)
    store.agents = [agent(clock_offset_s=3.0, heartbeat_at=at(0))]
    rules.tick(at(0), None)
    rules.tick(at(2), None)
    assert isinstance(store.applied[-1], OpenAlert)
    assert not any(isinstance(c, RaiseSeverity) for c in store.applied)


# --- hub processes that are gone ------------------------------------------------------------------------

GONE = health.PROCESS_GONE_AFTER


def lag_of(process: str) -> HealthFinding:
    finding = health.ingest_lag_finding("jinan", process, 5000, 20.0, POLICY, in_session=False)
    assert finding is not None
    return finding


def test_a_process_without_a_monitor_connection_is_gone_after_the_bound() -> None:
    mine, other = lag_of("hub-1"), lag_of("hub-2")
    skew = health.agent_findings(agent(clock_offset_s=3.0, heartbeat_at=at(0)), at(0), POLICY, in_session=False)
    connected = {health.probe_application_name(other.agent_id)}
    alerts = [mine, other, *skew]
    check, gone = health.gone_processes(health.GoneCheck(), alerts, connected, at(0))
    assert gone == []
    assert dict(check.absent_since) == {mine.agent_id: at(0)}
    check, gone = health.gone_processes(check, alerts, connected, at(0) + GONE - timedelta(seconds=1))
    assert gone == []
    check, gone = health.gone_processes(check, alerts, connected, at(0) + GONE)
    assert gone == [mine]  # not the connected process's, not an agent's
    # Closed once: an alert the lifecycle keeps open a while (flapping) is not closed again every tick.
    check, gone = health.gone_processes(check, alerts, connected, at(1) + GONE)
    assert gone == []


def test_a_process_seen_again_starts_its_absence_anew() -> None:
    mine = lag_of("hub-1")
    name = health.probe_application_name(mine.agent_id)
    check, _ = health.gone_processes(health.GoneCheck(), [mine], set(), at(0))
    check, gone = health.gone_processes(check, [mine], {name}, at(0) + GONE)
    assert (gone, dict(check.absent_since)) == ([], {})
    check, gone = health.gone_processes(check, [mine], set(), at(1) + GONE)
    assert gone == []
    _, gone = health.gone_processes(check, [mine], set(), at(1) + 2 * GONE)
    assert gone == [mine]


def test_probe_names_fit_postgresql_and_stay_apart() -> None:
    assert health.probe_application_name("jinan/hub/hub-1") == "sitewatch-probe jinan/hub/hub-1"
    long_a = "a-city-with-a-very-long-name-indeed/hub/" + "p" * 31 + "a"
    long_b = long_a[:-1] + "b"
    names = {health.probe_application_name(x) for x in (long_a, long_b)}
    assert len(names) == 2
    assert all(len(n.encode()) <= 63 and n.startswith(health.PROBE_PREFIX) for n in names)


def test_the_leading_hub_closes_the_alerts_of_a_gone_process_once() -> None:
    store = FakeStore()
    mine = lag_of("hub-1")
    store.open = [(mine, at(-60))]
    rules = HealthRules(store, POLICY, "jinan", province=False)
    assert rules.tick(at(0), None) == []
    assert rules.tick(at(0) + GONE - timedelta(seconds=1), None) == []
    why = {"closed_because": "process_gone", "missed_since": at(0).isoformat()}
    assert rules.tick(at(0) + GONE, None) == [CloseAlert(mine.fingerprint, at(0) + GONE, why)]
    assert rules.tick(at(1) + GONE, None) == []


def test_the_alerts_of_a_connected_process_are_left_to_it() -> None:
    store = FakeStore()
    mine = lag_of("hub-1")
    store.open = [(mine, at(-60))]
    store.connected = {health.probe_application_name(mine.agent_id)}
    rules = HealthRules(store, POLICY, "jinan", province=False)
    for t in (at(0), at(0) + GONE, at(0) + 3 * GONE):
        assert rules.tick(t, None) == []


def lagging_monitor(store: FakeStore) -> HubMonitor:
    """A monitor whose ingest lag alert is raised and stored, then cut off from the database."""
    monitor = HubMonitor(store, POLICY, "jinan", "hub-1", queue=lambda: (5000, 20.0))
    for s in (0, 1, 2):
        monitor.tick(at(s))
    (opened,) = store.applied
    assert isinstance(opened, OpenAlert)
    store.up = False
    for s in (3, 4):
        monitor.tick(at(s))
    return monitor


def test_a_monitor_back_from_an_outage_reopens_what_the_leading_hub_closed_meanwhile() -> None:
    store = FakeStore()
    monitor = lagging_monitor(store)
    store.open = []  # closed by the leading hub while this process could not connect
    store.up = True
    monitor.tick(at(700))
    reopened = [c for c in store.applied if isinstance(c, OpenAlert) and c.kind == health.INGEST_LAG]
    assert [c.at for c in reopened] == [at(0), at(0)]  # the lag has held since 0
    assert any(h.kind == health.INGEST_LAG and h.stored for h in monitor.held())


def test_a_monitor_back_from_an_outage_leaves_an_alert_still_open_as_it_is() -> None:
    store = FakeStore()
    monitor = lagging_monitor(store)
    (opened,) = store.applied
    assert isinstance(opened, OpenAlert)
    store.open = [(lag_of("hub-1"), opened.at)]
    store.up = True
    monitor.tick(at(5))
    assert [c for c in store.applied if isinstance(c, OpenAlert) and c.kind == health.INGEST_LAG] == [opened]


@pytest.mark.parametrize(
    ("client_id", "slug"),
    [("sitewatch-hub", "sitewatch-hub"), ("Hub A/1", "hub-a-1"), ("___", "hub"), ("x" * 40, "x" * 32)],
)
def test_process_slug(client_id: str, slug: str) -> None:
    assert process_slug(client_id) == slug


# --- the config ---------------------------------------------------------------------------------------------

CONFIG = """
[hub]
[mqtt]
host = "127.0.0.1"
[database]
dsn = "postgresql://sitewatch@127.0.0.1/sitewatch"
"""


def test_health_rules_are_declared_in_the_hub_config(tmp_path: Path) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(CONFIG + "[rules.health.outbox]\nwarning_ratio = 0.7\nfor_s = 5\n[rules.health.clock_skew]\n"
                    'max_offset_s = 2.0\nin_session = "warning"\n')  # fmt: skip
    h = RulesSettings.from_section(load_config(path).rules).health
    assert (h.outbox.warning_ratio, h.outbox.for_s, h.outbox.critical_ratio) == (0.7, 5.0, 0.95)
    assert (h.clock_skew.max_offset_s, h.clock_skew.in_session) == (2.0, "warning")
    # in_session no higher than the severity: no rise during a session.
    (f,) = health.agent_findings(agent(clock_offset_s=3.0), T0, h, in_session=True)
    assert f.severity == "warning"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("[rules.health.outbox]\nwarning_ratio = 0.9\ncritical_ratio = 0.5\n", "rules.health.outbox"),
        ("[rules.health.clock_skew]\nmax_offset = 2.0\n", "rules.health.clock_skew.max_offset"),
        ('[rules.health.database]\nseverity = "bad"\n', "rules.health.database.severity"),
    ],
)
def test_bad_health_config_names_the_key(tmp_path: Path, table: str, key: str) -> None:
    path = tmp_path / "hub.toml"
    path.write_text(CONFIG + table)
    with pytest.raises(HubConfigError, match=re.escape(key)):
        load_config(path)


def test_queue_reader_sees_depth_and_the_oldest_age_without_taking() -> None:
    inbox: queue.Queue[Inbound] = queue.Queue()
    read = queue_reader(inbox)
    assert read() == (0, None)
    now = datetime.now(UTC)
    for age in (5.0, 1.0):
        inbox.put(Inbound("sw/v1/a/b/c/heartbeat", b"{}", mid=1, qos=1, received_at=now - timedelta(seconds=age)))
    depth, oldest = read()
    assert depth == 2
    assert oldest is not None
    assert 5.0 <= oldest < 7.0
    assert inbox.qsize() == 2
