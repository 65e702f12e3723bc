"""The calendar reaches the agent for real: a hub process imports it, pushes each agent its site's slice
retained over Mosquitto, a real agent keeps it on disk, restarts without network and still knows what its
rooms require; its heartbeat tells the hub which plan it holds, and the go / no-go turns red for an agent
that holds an older plan."""

from __future__ import annotations

import sys
import time
import tomllib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig, parse_config
from agent.outbox import SqliteOutbox
from agent.runner import AgentRunner
from hub.calendar.load import plan_version
from hub.stack.process import free_port
from hub.store import connect
from protocol.codec import decode_up
from protocol.messages import Heartbeat, State

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))
from rules_harness import FAST_RULES, RulesHub, calendar_toml, start_hub, unique_site, wait_for

pytestmark = pytest.mark.integration


def agent_config(host: str, port: int, city: str, site: str) -> AgentConfig:
    text = f"""
[agent]
city = "{city}"
site = "{site}"
name = "a1"
heartbeat_s = 0.5
state_interval_s = 1.0

[broker]
host = "{host}"
port = {port}
reconnect_min_s = 0.1
reconnect_max_s = 0.5

[[devices]]
driver = "sim-jammer"
id = "jammer-101"
room = "101"

[[devices]]
driver = "sim-idcard"
id = "reader-101"
room = "101"
"""
    return parse_config(tomllib.loads(text), "agent.toml")


@pytest.fixture
def hub(mqtt: tuple[str, int], pg_dsn: str, tmp_path: Path) -> Iterator[RulesHub]:
    started = start_hub(mqtt, pg_dsn, tmp_path, free_port(), FAST_RULES)
    yield started
    code = started.stop()
    sys.stderr.write(f"--- hub log, exit {code} ---\n{started.log_text()}\n")
    assert code == 0


def held_by_hub(dsn: str, agent_id: str) -> str | None:
    """The calendar version in the agent's latest live heartbeat, as stored by the hub."""
    conn = connect(dsn, "calendar-e2e")
    try:
        row = conn.execute(
            "SELECT calendar_version FROM heartbeats WHERE agent_id = %s AND NOT historical ORDER BY time DESC LIMIT 1",
            (agent_id,),
        ).fetchone()
    finally:
        conn.close()
    return None if row is None else row[0]


def gonogo(hub: RulesHub, site: str) -> dict[str, Any] | None:
    r = hub.client.get("/api/v1/gonogo")
    assert r.status_code == 200, r.text
    return next((s for s in r.json()["sites"] if s["site_id"] == site), None)


def calendar_check(hub: RulesHub, site: str) -> dict[str, Any] | None:
    row = gonogo(hub, site)
    return None if row is None else next((c for c in row["checks"] if c["name"] == "calendar"), None)


def site_calendars(hub: RulesHub, site: str) -> tuple[str | None, dict[str, str | None]]:
    """The site page's view: the plan version in force, and what each agent's latest heartbeat holds."""
    r = hub.client.get(f"/api/v1/sites/{site}")
    assert r.status_code == 200, r.text
    body = r.json()
    return body["calendar_version"], {a["agent_id"]: a["calendar_version"] for a in body["agents"]}


def imported(hub: RulesHub, text: str, workdir: Path) -> str:
    done = hub.import_calendar(text, workdir)
    assert done.returncode == 0, done.stderr + done.stdout
    return plan_version(text)


def test_the_agent_gets_keeps_and_reports_its_calendar(
    hub: RulesHub, mqtt: tuple[str, int], pg_dsn: str, tmp_path: Path
) -> None:
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent_id = f"{site}/a1"
    config = agent_config(*mqtt, city, slug)
    outbox = tmp_path / "agent" / "outbox.sqlite"
    outbox.parent.mkdir()
    saved = outbox.with_name(f"calendar-{city}-{slug}-a1.json")

    runner = AgentRunner(config, outbox)
    runner.start()
    try:
        wait_for(lambda: runner.link.connected, 10, "the agent online")
        wait_for(lambda: held_by_hub(pg_dsn, agent_id) == "none", 15, "a heartbeat saying 'no calendar held'")
        assert site_calendars(hub, site)[1] == {agent_id: "none"}

        # A sitting in room 101 that started a minute ago (so its jammer must be on now), and one in 20 min
        # whose go / no-go falls due at once.
        now = datetime.now(UTC)
        sessions = [
            {"id": "gen-now", "start": now - timedelta(minutes=1), "end": now + timedelta(minutes=9),
             "rooms": [f"{site}/101"]},
            {"id": "gen-next", "start": now + timedelta(minutes=20), "end": now + timedelta(minutes=80),
             "rooms": [f"{site}/*"]},
        ]  # fmt: skip
        first_text = calendar_toml(sessions, [city], now)
        sent = time.monotonic()
        first = imported(hub, first_text, tmp_path)
        wait_for(lambda: runner.calendar.version == first, 15, "the calendar at the agent")
        sys.stderr.write(f"LATENCY import→agent: {time.monotonic() - sent:.2f} s\n")
        assert saved.is_file(), "kept beside the outbox"
        message = runner.calendar.message
        assert message is not None
        assert [s.id for s in message.sessions] == ["gen-now", "gen-next"]
        assert message.sessions[0].rooms == ["101"]

        wait_for(lambda: held_by_hub(pg_dsn, agent_id) == first, 15, "the held version in a heartbeat at the hub")
        assert site_calendars(hub, site) == (first, {agent_id: first})
        check = wait_for(lambda: (c := calendar_check(hub, site)) and c["ok"] and c, 15, "go / no-go: calendar held")
        assert check["reasons"] == []
    finally:
        runner.stop()

    # The agent is gone (its last heartbeat named the first plan) and a new plan is imported: the site's go /
    # no-go says the agent does not hold it.
    second_text = first_text.replace("Generated paper gen-next", "Generated paper gen-next (revised)")
    second = imported(hub, second_text, tmp_path)
    assert second != first
    stale = wait_for(lambda: (c := calendar_check(hub, site)) and not c["ok"] and c, 15, "go / no-go: calendar stale")
    assert stale["reasons"] == [f"agent {agent_id} does not hold the current calendar ({first}; current {second})"]
    assert site_calendars(hub, site) == (second, {agent_id: first}), "the site page shows it too"

    # Restarted with no network: the saved plan is still in force, in its heartbeats and in the jammer's state.
    offline_config = agent_config("127.0.0.1", free_port(), city, slug)
    offline = AgentRunner(offline_config, outbox)
    assert offline.calendar.version == first
    offline.start()
    try:
        wait_for(lambda: offline.supervisor.counters.heartbeats >= 1, 10, "a heartbeat while offline")
    finally:
        offline.stop()
    store = SqliteOutbox(outbox, config.outbox.capacity)
    try:
        records = [r for _, r in store.pending(limit=10_000) if r.boot == offline.boot]
    finally:
        store.close()
    messages = [decode_up(r.topic, r.payload)[1] for r in records if not r.topic.endswith("/birth")]
    beats = [m for m in messages if isinstance(m, Heartbeat)]
    assert beats
    assert {b.calendar_version for b in beats} == {first}
    jammer = [d for m in messages if isinstance(m, State) for d in m.devices if d.id == "jammer-101"]
    assert jammer
    assert jammer[-1].details["required_jammer"] == "on"
    assert jammer[-1].details["in_session"] is True
    reader = [d for m in messages if isinstance(m, State) for d in m.devices if d.id == "reader-101"]
    assert "required_jammer" not in reader[-1].details

    # Back online: the retained calendar brings it up to date, and the go / no-go agrees again.
    back = AgentRunner(config, outbox)
    assert back.calendar.version == first
    back.start()
    try:
        wait_for(lambda: back.calendar.version == second, 15, "the new plan after reconnecting")
        wait_for(lambda: (c := calendar_check(hub, site)) and c["ok"], 20, "go / no-go: calendar held again")
    finally:
        back.stop()
