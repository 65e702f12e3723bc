"""The agent against a real Mosquitto: birth, heartbeats, the last will, reconnects and refusals."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig, load_config, parse_config
from agent.errors import PublishRefused
from agent.link import Link
from agent.outbox import MemoryOutbox
from agent.runner import AgentRunner
from protocol.codec import decode_up
from protocol.messages import Death
from protocol.topics import AgentPath

pytestmark = pytest.mark.integration

FAST = "reconnect_min_s = 0.1\nreconnect_max_s = 0.5"


def _until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(0.02)


def test_agent_births_retained_beats_and_says_goodbye(
    mqtt: tuple[str, int],
    write_config: Callable[..., Path],
    agent_toml: Callable[..., str],
    unique_site: str,
    subscribe: Callable[..., Any],
) -> None:
    host, port = mqtt
    config = load_config(write_config(agent_toml(host=host, port=port, site=unique_site, heartbeat_s=0.5)))
    prefix = f"sw/v1/jinan/{unique_site}/a1"
    live = subscribe(host, port, f"{prefix}/#")
    runner = AgentRunner(config, MemoryOutbox())
    runner.start()
    try:
        birth = live.of_type("birth")
        beats = [live.of_type("heartbeat", boot=runner.boot) for _ in range(2)]
        state = live.of_type("state", boot=runner.boot)
        late = subscribe(host, port, f"{prefix}/birth")
        retained = late.of_type("birth")
    finally:
        runner.stop()
    goodbye = live.of_type("death")

    assert birth.topic == f"{prefix}/birth"
    assert (birth.body["boot"], birth.body["seq"]) == (runner.boot, 0)
    assert [d["id"] for d in birth.body["devices"]] == ["vault-cam-1", "reader-101", "jammer-101"]
    assert retained.retained
    assert retained.body["boot"] == runner.boot
    assert 0 < beats[0].body["seq"] < beats[1].body["seq"]
    assert {d["id"] for d in state.body["devices"]} == {"vault-cam-1", "reader-101", "jammer-101"}
    assert (goodbye.body["reason"], goodbye.body["boot"], goodbye.body["seq"]) == ("shutdown", runner.boot, 0)
    for got in (birth, *beats, state, retained, goodbye):
        decode_up(got.topic, got.payload)  # every payload on the wire honours the contract
    assert runner.link.counters.callback_errors == 0


def _start_agent(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "agent", "--config", str(config)], stdout=out, stderr=subprocess.STDOUT
        )


def _reap(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=10)


def test_kill_9_makes_the_broker_publish_the_will_of_that_boot(
    mqtt: tuple[str, int],
    write_config: Callable[..., Path],
    agent_toml: Callable[..., str],
    unique_site: str,
    subscribe: Callable[..., Any],
    tmp_path: Path,
) -> None:
    host, port = mqtt
    path = write_config(agent_toml(host=host, port=port, site=unique_site))
    live = subscribe(host, port, f"sw/v1/jinan/{unique_site}/a1/#")
    proc = _start_agent(path, tmp_path / "agent.log")
    try:
        birth = live.of_type("birth", timeout=30)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        death = live.of_type("death")
    finally:
        _reap(proc)
    assert (death.body["reason"], death.body["boot"], death.body["seq"]) == ("will", birth.body["boot"], 0)
    assert not death.retained
    assert isinstance(decode_up(death.topic, death.payload)[1], Death)


def test_sigterm_stops_the_agent_process_cleanly(
    mqtt: tuple[str, int],
    write_config: Callable[..., Path],
    agent_toml: Callable[..., str],
    unique_site: str,
    subscribe: Callable[..., Any],
    tmp_path: Path,
) -> None:
    host, port = mqtt
    path = write_config(agent_toml(host=host, port=port, site=unique_site))
    live = subscribe(host, port, f"sw/v1/jinan/{unique_site}/a1/#")
    log = tmp_path / "agent.log"
    proc = _start_agent(path, log)
    try:
        birth = live.of_type("birth", timeout=30)
        _until(lambda: "birth published" in log.read_text(), what="the agent logging its birth")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
        death = live.of_type("death")
    finally:
        _reap(proc)
    assert (death.body["reason"], death.body["boot"]) == ("shutdown", birth.body["boot"])
    text = log.read_text()
    assert "connected to" in text
    assert "birth published" in text
    assert "heartbeat" not in text.lower(), "no log line per heartbeat at INFO"


def test_a_bad_config_exits_2_without_connecting(write_config: Callable[..., Path], tmp_path: Path) -> None:
    path = write_config('[agent]\ncity = "jinan"\n')
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "agent", "--config", str(path)], capture_output=True, timeout=30, check=False
    )
    assert done.returncode == 2
    assert f"{path}: broker: field required" in done.stderr.decode()


def test_agent_started_before_the_broker_connects_when_it_comes_up_and_rebirths_after_a_restart(
    private_broker: Callable[..., Any],
    write_config: Callable[..., Path],
    agent_toml: Callable[..., str],
    subscribe: Callable[..., Any],
) -> None:
    broker = private_broker(start=False)
    config = load_config(write_config(agent_toml(host=broker.host, port=broker.port, extra_broker=FAST)))
    runner = AgentRunner(config, MemoryOutbox())
    runner.start()
    try:
        _until(lambda: runner.link.counters.connect_failures >= 2, what="connect attempts while the broker is down")
        assert not runner.link.connected
        broker.start()
        first = subscribe(broker.host, broker.port, "sw/v1/jinan/s01/a1/birth").of_type("birth")
        assert first.body["boot"] == runner.boot

        broker.stop()
        _until(lambda: not runner.link.connected, what="the agent noticing the broker is gone")
        broker.start()
        _until(lambda: runner.link.connections == 2, what="the reconnect")
        # The restarted broker kept nothing, so a retained birth is the agent's re-announcement (the
        # outbox also replays its unconfirmed stored birth, but that copy is historical and not retained).
        live = subscribe(broker.host, broker.port, "sw/v1/jinan/s01/a1/#")
        live.wait_for(lambda r: r.body.get("type") == "birth" and not r.body["historical"], 10)
        # Now that it was published, a new subscriber must get it from the broker as the retained birth.
        again = subscribe(broker.host, broker.port, "sw/v1/jinan/s01/a1/birth").of_type("birth")
        assert again.retained
        assert (again.body["boot"], again.body["seq"], again.body["historical"]) == (runner.boot, 0, False)
    finally:
        runner.stop()


def test_a_refused_publish_raises_publish_refused(private_broker: Callable[..., Any]) -> None:
    # Anonymous clients get the ACL lines that precede any "user" line: this agent's own prefix only.
    broker = private_broker(acl="topic readwrite sw/v1/jinan/s01/a1/#\n")
    config = _inline_config(broker.host, broker.port)
    path = AgentPath("jinan", "s01", "a1")
    will = Death(agent=path.agent_id, boot="0123456789abcdef", seq=0, ts=_now())
    link = Link(config.broker, path, will)
    link.start()
    try:
        _until(lambda: link.connected, what="connect")
        link.wait_published(link.publish("sw/v1/jinan/s01/a1/state", b"{}"), timeout=5)
        with pytest.raises(PublishRefused) as info:
            link.wait_published(link.publish("sw/v1/qingdao/s02/a1/state", b"{}"), timeout=5)
        assert info.value.reason_code == 135
        assert link.connected, "a refusal does not cost the connection"
        assert link.counters.refused == 1
    finally:
        link.close()


def test_close_while_the_broker_is_away_returns_promptly(private_broker: Callable[..., Any]) -> None:
    broker = private_broker(start=False)
    config = _inline_config(broker.host, broker.port)
    path = AgentPath("jinan", "s01", "a1")
    link = Link(config.broker, path, Death(agent=path.agent_id, boot="0123456789abcdef", seq=0, ts=_now()))
    link.start()
    _until(lambda: link.counters.connect_failures >= 1, what="a failed connect")
    started = time.monotonic()
    link.close()
    assert time.monotonic() - started < 3.0


def _inline_config(host: str, port: int) -> AgentConfig:
    text = f'[agent]\ncity="jinan"\nsite="s01"\nname="a1"\n[broker]\nhost="{host}"\nport={port}\n{FAST}\n'
    text += '[[devices]]\ndriver="sim-camera"\nid="c1"\n'
    return parse_config(tomllib.loads(text), "inline.toml")


def _now() -> datetime:
    return datetime.now(UTC)
