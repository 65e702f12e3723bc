"""The walking skeleton end to end: a real `sitewatch agent` process, a real broker, a real hub process.

Timings are the issue's acceptance limits (online within 5 s; offline with an open alert within 15 s of
kill -9), measured from the moment of the action, not performance goals.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from hub_harness import HubProcess, StartHub, wait_for

REPO = Path(__file__).resolve().parents[2]


def agent_toml(mqtt: tuple[str, int], site: str) -> str:
    return f"""
[agent]
city = "e2e"
site = "{site}"
name = "a1"
heartbeat_s = 5.0

[broker]
host = "{mqtt[0]}"
port = {mqtt[1]}
reconnect_min_s = 0.2
reconnect_max_s = 2

[[devices]]
driver = "sim-camera"
id = "vault-cam-1"
room = "vault"

[[devices]]
driver = "sim-idcard"
id = "reader-101"
room = "101"

[[devices]]
driver = "sim-jammer"
id = "jammer-101"
room = "101"
"""


def start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "agent", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def find_agent(hub: HubProcess, agent_id: str) -> dict[str, Any] | None:
    _, body = hub.get("api/sites")
    for city in body["cities"]:
        for site in city["sites"]:
            for agent in site["agents"]:
                if agent["agent_id"] == agent_id:
                    return dict(agent)
    return None


def open_offline_alerts(hub: HubProcess, agent_id: str) -> list[dict[str, Any]]:
    _, body = hub.get("api/alerts?state=open")
    return [a for a in body["alerts"] if a["agent_id"] == agent_id and a["kind"] == "agent_offline"]


def test_real_agent_online_killed_offline_restarted_online(
    start_hub: StartHub, mqtt: tuple[str, int], tmp_path: Path
) -> None:
    hub = start_hub()
    site = f"s{uuid.uuid4().hex[:8]}"
    agent_id = f"e2e/{site}/a1"
    config = tmp_path / "agent.toml"
    config.write_text(agent_toml(mqtt, site), encoding="utf-8")
    log = tmp_path / "agent.log"

    started = time.monotonic()
    agent = start_agent(config, log)
    try:
        online = wait_for(
            lambda: (a := find_agent(hub, agent_id)) and a["online"] and a["devices"] and a, 5, "agent online"
        )
        assert time.monotonic() - started <= 5
        assert sorted(d["id"] for d in online["devices"]) == ["jammer-101", "reader-101", "vault-cam-1"]
        assert {d["kind"] for d in online["devices"]} == {"camera", "idcard", "jammer"}
        first_boot = online["boot"]

        agent.send_signal(signal.SIGKILL)
        agent.wait(timeout=5)
        killed = time.monotonic()
        wait_for(
            lambda: find_agent(hub, agent_id)["online"] is False and open_offline_alerts(hub, agent_id),
            15,
            "offline alert",
        )
        assert time.monotonic() - killed <= 15
        assert len(open_offline_alerts(hub, agent_id)) == 1

        agent = start_agent(config, log)
        back = wait_for(lambda: (a := find_agent(hub, agent_id)) and a["online"] and a, 10, "agent back online")
        assert back["boot"] != first_boot
        wait_for(lambda: not open_offline_alerts(hub, agent_id), 5, "the offline alert to close")
        _, every = hub.get("api/alerts?state=all")
        closed = [a for a in every["alerts"] if a["agent_id"] == agent_id and a["kind"] == "agent_offline"]
        assert len(closed) == 1
        assert closed[0]["closed_at"] is not None
    finally:
        if agent.poll() is None:
            agent.send_signal(signal.SIGTERM)
            agent.wait(timeout=15)
        sys.stderr.write(f"--- agent log ---\n{log.read_text(errors='replace')}\n")
