"""A hub process gone for good (real PostgreSQL): while its monitor's connection is there, its own alerts
are left to it; once that connection has been gone for the bound, the leading hub closes them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import psycopg
import pytest

from hub.rules import health
from hub.rules.changes import OpenAlert
from hub.rules.health_config import HealthSection
from hub.rules.health_runner import HealthRules
from hub.store.health import HealthDatabase, ProbeDatabase

pytestmark = pytest.mark.integration

POLICY = HealthSection()
GONE = health.PROCESS_GONE_AFTER
PROCESS = "hub-jinan-2"
T0 = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def leader(alert_dsn: str) -> Iterator[HealthDatabase]:
    db = HealthDatabase(alert_dsn, "sitewatch-hub-jinan-rules")
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def probe(alert_dsn: str) -> Iterator[ProbeDatabase]:
    """The other process's monitor connection, with an ingest lag alert of its own stored."""
    db = ProbeDatabase(alert_dsn, health.probe_application_name(health.hub_agent("jinan", PROCESS)))
    try:
        db.ping()
        lag = health.ingest_lag_finding("jinan", PROCESS, 5000, 90.0, POLICY, in_session=False)
        assert lag is not None
        opened = OpenAlert(lag.fingerprint, lag.kind, lag.severity, lag.agent_id, lag.summary, T0, None, lag.details)
        assert db.apply([opened]) == [opened]
        yield db
    finally:
        db.close()


def open_process_alerts(db: HealthDatabase) -> list[str]:
    return [f.agent_id for f, _ in db.open_health_alerts() if f.kind in health.PROCESS_KINDS]


def test_the_alert_of_a_connected_process_stays_and_of_a_gone_one_closes(
    leader: HealthDatabase, probe: ProbeDatabase, alert_dsn: str
) -> None:
    name = health.probe_application_name(health.hub_agent("jinan", PROCESS))
    assert name in leader.monitor_connections()
    rules = HealthRules(leader, POLICY, "jinan", province=False)
    for t in (T0, T0 + GONE, T0 + 3 * GONE):
        rules.tick(t, None)
    assert open_process_alerts(leader) == [f"jinan/hub/{PROCESS}"]

    probe.close()
    deadline = time.monotonic() + 10.0
    while name in leader.monitor_connections():  # the server ends the backend a moment after the client
        assert time.monotonic() < deadline, "the closed connection still shows in pg_stat_activity"
        time.sleep(0.05)
    t1 = T0 + 4 * GONE
    assert rules.tick(t1, None) == []
    assert open_process_alerts(leader) == [f"jinan/hub/{PROCESS}"]
    closed = rules.tick(t1 + GONE, None)
    assert [type(c).__name__ for c in closed] == ["CloseAlert"]
    assert open_process_alerts(leader) == []
    assert rules.tick(t1 + 2 * GONE, None) == []
    with psycopg.connect(alert_dsn) as c:
        query = "SELECT details, closed_at FROM alerts WHERE agent_id = %s"
        row = c.execute(query, (f"jinan/hub/{PROCESS}",)).fetchone()
    assert row is not None
    details, closed_at = row
    # The dashboard says why it closed (alert_closed.process_gone), naming the process and when it was missed.
    assert (details["closed_because"], details["process"], closed_at) == ("process_gone", PROCESS, t1 + GONE)
    assert datetime.fromisoformat(details["missed_since"]) == t1


def test_only_the_monitors_connections_count(leader: HealthDatabase, alert_dsn: str) -> None:
    mine = ProbeDatabase(alert_dsn, health.probe_application_name(health.hub_agent("jinan", "hub-jinan-1")))
    try:
        mine.ping()
        assert leader.monitor_connections() == {"sitewatch-probe jinan/hub/hub-jinan-1"}
    finally:
        mine.close()
