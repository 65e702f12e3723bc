"""The rules' store and the calendar import on a real PostgreSQL."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rules_harness import REPO, hub_config, wait_for

from hub.rules.changes import CloseAlert, OpenAlert, RaiseSeverity
from hub.rules.gonogo import Check, GoNoGo
from hub.store import Connection, connect, migrate
from hub.store import calendar as plan
from hub.store import rules_input as ri

pytestmark = pytest.mark.integration
NOW = datetime(2026, 5, 17, 1, 0, tzinfo=UTC)
EXAMPLE = REPO / "deploy" / "calendar.example.toml"


@pytest.fixture
def conn(pg_dsn: str) -> Iterator[Connection]:
    c = connect(pg_dsn, "rules-store-tests")
    migrate(c)
    try:
        yield c
    finally:
        c.close()


def add_agent(conn: Connection, agent_id: str, rooms: dict[str, str]) -> None:
    city, site, name = agent_id.split("/")
    conn.execute(
        "INSERT INTO agents (agent_id, city, site, name, online, last_seen) VALUES (%s, %s, %s, %s, true, %s)",
        (agent_id, city, site, name, NOW),
    )
    for device, room in rooms.items():
        kind = "idcard" if device.startswith("reader") else "jammer"
        conn.execute(
            "INSERT INTO devices (agent_id, device_id, kind, room, status, details, updated_at)"
            ' VALUES (%s, %s, %s, %s, \'ok\', \'{"state": "ready", "n": 1}\', %s)',
            (agent_id, device, kind, room, NOW + timedelta(seconds=2)),
        )


def test_site_view_puts_device_times_on_the_hub_clock(conn: Connection):
    add_agent(conn, "jinan/s01/a1", {"reader-101": "101", "jammer-101": "101"})
    # The agent's clock is 2 s ahead: its heartbeat's own time is 2 s after the hub received it.
    conn.execute(
        "INSERT INTO heartbeats (time, received_at, agent_id, boot, seq, historical, uptime_s, outbox_depth)"
        " VALUES (%s, %s, 'jinan/s01/a1', 'b1', 1, false, 1.0, 3)",
        (NOW + timedelta(seconds=2), NOW),
    )
    views = ri.site_views(conn, {"jinan/s01", "jinan/s99"}, NOW + timedelta(seconds=5))
    assert set(views) == {"jinan/s01"}
    view = views["jinan/s01"]
    [agent] = view.agents
    assert (agent.clock_offset_s, agent.outbox_depth, agent.online) == (2.0, 3, True)
    assert {d.id: d.seen_at for d in view.devices} == {"reader-101": NOW, "jammer-101": NOW}
    assert view.rooms == frozenset({"101"})
    assert view.owners["reader-101"] == "jinan/s01/a1"
    assert plan.inventory(conn) == {"jinan/s01": {"101"}}


def test_alert_changes_and_severity_only_rises(conn: Connection):
    add_agent(conn, "jinan/s01/a1", {})
    fp = "idcard.reader_missing:jinan/s01:101:reader-101"
    opened = OpenAlert(fp, "idcard.reader_missing", "warning", "jinan/s01/a1", "missing", NOW, "reader-101",
                       {"room": "101"})  # fmt: skip
    assert ri.apply_changes(conn, [opened, opened]) == [opened]
    up = RaiseSeverity(fp, "critical", "missing during check-in", {"phase": "checkin"})
    assert ri.apply_changes(conn, [up]) == [up]
    assert ri.apply_changes(conn, [RaiseSeverity(fp, "warning", "lower", {})]) == []
    [row] = ri.open_rule_alerts(conn)
    assert (row.severity, row.summary, row.details["room"], row.details["phase"]) == (
        "critical", "missing during check-in", "101", "checkin")  # fmt: skip
    assert ri.apply_changes(conn, [CloseAlert(fp, NOW), CloseAlert(fp, NOW)]) == [CloseAlert(fp, NOW)]
    assert ri.open_rule_alerts(conn) == []


def test_plan_records(conn: Connection):
    for site, at in (("s01", NOW), ("s01", NOW - timedelta(hours=1)), ("s02", NOW - timedelta(days=30))):
        plan.record_arrival(conn, city="jinan", site=site, arrived_at=at, reported_at=NOW, reported_by="gen-officer",
                            comment="")  # fmt: skip
    assert plan.earliest_arrivals(conn, NOW - timedelta(days=2)) == {"jinan/s01": NOW - timedelta(hours=1)}
    for green, at in ((False, NOW), (True, NOW + timedelta(minutes=1))):
        result = GoNoGo("jinan/s01", "gen-am", at, (Check("readers", green, () if green else ("no reader",)),))
        plan.record_gonogo(conn, result, "schedule", "")
    [latest] = plan.latest_gonogo(conn, "jinan")
    assert (latest.green, latest.session, latest.checks[0]["name"]) == (True, "gen-am", "readers")
    assert plan.latest_gonogo(conn, "qingdao") == []
    ri.set_cursor(conn, "checkins", NOW, NOW)
    ri.set_cursor(conn, "checkins", NOW - timedelta(seconds=5), NOW)
    assert ri.cursor(conn, "checkins") == NOW, "a cursor never moves back"


def test_one_rules_leader(pg_dsn: str):
    first = ri.RulesDatabase(pg_dsn, "rules-a")
    second = ri.RulesDatabase(pg_dsn, "rules-b")
    try:
        assert first.lead()
        assert not second.lead()
        first.close()
        # The server releases the lock once it has noticed the session end.
        wait_for(second.lead, 10, "the second to take the lock")
    finally:
        first.close()
        second.close()


def run_import(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "hub.cli", "hub", "calendar", "import", *args, "--config", str(config)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)


def test_calendar_import_checks_against_the_inventory(conn: Connection, pg_dsn: str, tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text(hub_config(("127.0.0.1", 1883), pg_dsn, 0, {}), encoding="utf-8")
    add_agent(conn, "jinan/s01/a1", {"reader-101": "101", "reader-102": "102"})
    refused = run_import(config, str(EXAMPLE))
    assert refused.returncode == 2
    assert "calendar.example.toml:" in refused.stderr
    assert "unknown site qingdao/s02" in refused.stderr
    assert plan.calendar_version(conn) is None
    done = run_import(config, str(EXAMPLE), "--skip-inventory")
    assert done.returncode == 0, done.stderr
    assert "imported as version 1" in done.stdout
    stored = plan.latest_calendar(conn)
    assert stored is not None
    assert stored[1] == EXAMPLE.read_text(encoding="utf-8")
    info = plan.calendar_info(conn)
    assert info is not None
    assert (info.source, info.sessions, info.sites) == ("calendar.example.toml", 3, 2)
    missing = subprocess.run([sys.executable, "-m", "hub.cli", "hub", "calendar", "import", str(EXAMPLE)],
                             capture_output=True, text=True, cwd=REPO, timeout=60, check=False)  # fmt: skip
    assert missing.returncode == 2
    assert "--config FILE is required" in missing.stderr
