"""The health rules against a real hub process, real Mosquitto and real PostgreSQL: an agent's outbox and
clock (its heartbeats over MQTT), the hub's database stopped and started, its ingest held up by a lock."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from rules_harness import FakeAgent, RulesHub, unique_site, wait_for

from hub.stack import Stack
from protocol.messages import DeviceInfo

StartHub = Callable[..., RulesHub]
MakeAgent = Callable[[str, list[DeviceInfo]], FakeAgent]
HUB_SITE = "rulestest/hub"  # the hub's own alerts: <hub name>/hub/<process>

AGENT_HEALTH = """
[rules.health]
clear_after_s = 1.0
[rules.health.outbox]
for_s = 1.0
# Far above the heartbeats' own capacity (100): the ratio must come from what the agent reports.
default_capacity = 100000
[rules.health.clock_skew]
for_s = 1.0
"""

HUB_HEALTH = """
[rules.health]
clear_after_s = 1.0
[rules.health.database]
for_s = 2.0
probe_s = 0.2
[rules.health.ingest_lag]
for_s = 1.0
max_age_s = 1.0
critical_age_s = 600.0
"""


def beating(agent: FakeAgent, check: Callable[[], Any], **heartbeat: Any) -> Callable[[], Any]:
    """``check``, after sending a heartbeat (so the agent keeps reporting while the test waits)."""

    def step() -> Any:
        agent.heartbeat(**heartbeat)
        return check()

    return step


def test_outbox_near_full_then_thinning_level_and_clock_skew(rules_hub: StartHub, fake_agent: MakeAgent) -> None:
    hub = rules_hub(extra=AGENT_HEALTH)
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent = fake_agent(f"{site}/a1", [])
    agent.birth()

    def kinds() -> dict[str, dict[str, Any]]:
        return {a["kind"]: a for a in hub.open_alerts(site) if a["kind"].startswith("agent.")}

    wanted = {"agent.outbox_near_full", "agent.clock_skew"}
    found = wait_for(
        beating(agent, lambda: (k := kinds()).keys() >= wanted and k, outbox_depth=85, outbox_capacity=100,
                clock_ahead_s=3.0),
        20, "outbox and clock alerts", interval=0.3,
    )  # fmt: skip
    outbox, clock = found["agent.outbox_near_full"], found["agent.clock_skew"]
    assert outbox["severity"] == "warning"
    assert outbox["details"]["percent"] == 85.0
    assert outbox["agent_id"] == agent.agent_id
    assert "85.0% full" in outbox["summary"]
    assert clock["severity"] == "warning"
    assert 2.5 < clock["details"]["offset_s"] < 3.5

    # Fuller: the same alert rises to critical in place.
    risen = wait_for(
        beating(agent, lambda: [a for a in kinds().values() if a["kind"] == "agent.outbox_near_full"
                                and a["severity"] == "critical"], outbox_depth=97, outbox_capacity=100),
        15, "the outbox alert raised to critical", interval=0.3,
    )  # fmt: skip
    assert risen[0]["id"] == outbox["id"]

    # Delivered and the clock set right: both clear.
    wait_for(beating(agent, lambda: not kinds(), outbox_depth=0, outbox_capacity=100), 15, "both cleared", 0.3)
    closed = {a["kind"]: a for a in hub.alerts(site) if a["kind"] in wanted}
    assert all(not a["open"] for a in closed.values())


def alerts(hub: RulesHub, kind: str | None = None) -> list[dict[str, Any]]:
    """The hub's own alerts; none while the dashboard's pool is still reconnecting after the outage."""
    r = hub.client.get("/api/v1/alerts", params={"state": "all", "city": "rulestest", "site": "hub"})
    return [a for a in r.json()["alerts"] if kind in (None, a["kind"])] if r.status_code == 200 else []


def held(hub: RulesHub) -> dict[str, dict[str, Any]]:
    body = hub.client.get("/healthz").json()
    return {a["kind"]: a for a in body.get("hub_alerts", [])}


def test_database_unreachable_is_shown_then_stored_when_back(
    rules_hub: StartHub, fake_agent: MakeAgent, stack: Stack
) -> None:
    hub = rules_hub(extra=HUB_HEALTH)
    city, slug = unique_site()
    agent = fake_agent(f"{city}/{slug}/a1", [])
    agent.birth()
    wait_for(beating(agent, lambda: hub.client.get("/healthz").status_code == 200), 10, "the hub up", 0.3)
    stopped_at = datetime.now(UTC)
    stack.stop_postgres()
    try:
        # Kept in memory and shown while the database is away; the agent's heartbeats pile up meanwhile.
        during = wait_for(
            beating(agent, lambda: (h := held(hub)).keys() >= {"hub.database_unreachable", "hub.ingest_lag"} and h,
                    wait=False),
            20, "both hub alerts on /healthz", interval=0.3,
        )  # fmt: skip
        assert hub.client.get("/healthz").status_code == 503
        db = during["hub.database_unreachable"]
        assert db["severity"] == "critical"
        assert db["stored"] is False
        assert during["hub.ingest_lag"]["stored"] is False
        assert "rulestest" in db["summary"]
    finally:
        stack.start_postgres()
    restarted_at = datetime.now(UTC)

    # Stored once the database is back, opened when the outage began; closed when all is well again.
    stored = wait_for(lambda: alerts(hub, "hub.database_unreachable"), 30, "the stored alert", 0.3)
    (alert,) = stored
    opened = datetime.fromisoformat(alert["opened_at"])
    assert stopped_at - timedelta(seconds=1) <= opened <= restarted_at
    assert alert["severity"] == "critical"
    assert alerts(hub, "hub.ingest_lag"), "the lag during the outage is on record too"
    wait_for(lambda: not [a for a in alerts(hub) if a["open"]], 20, "the hub alerts closed")
    wait_for(lambda: held(hub) == {}, 10, "nothing held on /healthz")
    lines = [line for line in hub.log_text().splitlines() if "hub alert hub.database_unreachable" in line]
    assert [" ERROR " in line for line in lines] == [True, False], "logged once when it fired, once cleared"


def test_ingest_lag_while_the_writer_is_held_up(rules_hub: StartHub, fake_agent: MakeAgent, pg_dsn: str) -> None:
    hub = rules_hub(extra=HUB_HEALTH)
    city, slug = unique_site()
    agent = fake_agent(f"{city}/{slug}/a1", [])
    agent.birth()
    wait_for(beating(agent, lambda: hub.client.get("/healthz").status_code == 200), 10, "the hub up", 0.3)
    blocker = psycopg.connect(pg_dsn)
    try:
        # Readers go on; the writer's inserts of heartbeats wait, so its queue grows and ages.
        blocker.execute("LOCK TABLE heartbeats IN SHARE MODE")
        lag = wait_for(
            beating(agent, lambda: hub.open_alerts(HUB_SITE, "hub.ingest_lag"), wait=False), 20, "ingest lag", 0.3
        )
        assert lag[0]["details"]["oldest_s"] >= 1.0
        assert lag[0]["severity"] == "warning"
        body = hub.client.get("/healthz").json()
        assert body["counters"]["queue_depth"] >= 1
        assert held(hub)["hub.ingest_lag"]["stored"] is True
    finally:
        blocker.rollback()
        blocker.close()
    wait_for(beating(agent, lambda: not hub.open_alerts(HUB_SITE)), 20, "the lag cleared", 0.3)
    time.sleep(0.5)
    assert not hub.open_alerts(HUB_SITE, "hub.database_unreachable"), "the database was reachable throughout"
