"""What a committed batch confirms to agents (pure), and confirmations emptying a real agent's outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from hub_harness import StartHub, wait_for

from agent.config import parse_config
from agent.outbox import SqliteOutbox
from agent.runner import AgentRunner
from hub.ingest.acks import confirmations, seq_ranges
from hub.ingest.decode import claimed_key
from hub.store.records import Accepted, Rejected
from protocol.messages import Death, Event, Heartbeat

T = datetime(2026, 5, 17, tzinfo=UTC)
A = "jinan/s01/a1"
BOOT = "0123456789abcdef"


def beat(seq: int, boot: str = BOOT, agent: str = A) -> Accepted:
    return Accepted(Heartbeat(agent=agent, boot=boot, seq=seq, ts=T, uptime_s=1), T)


def test_seq_ranges_fold_and_sort() -> None:
    assert seq_ranges([7, 1, 2, 3, 3, 9, 8]) == [(1, 3), (7, 9)]
    assert seq_ranges([]) == []
    assert seq_ranges([5]) == [(5, 5)]


def test_confirmations_group_by_agent_and_boot_and_skip_deaths() -> None:
    items = [
        beat(1),
        beat(2),
        beat(4),
        beat(1, boot="fedcba9876543210"),
        beat(3, agent="qingdao/s02/a1"),
        Accepted(Death(agent=A, boot=BOOT, seq=0, ts=T), T),
        Accepted(Event(agent=A, boot=BOOT, seq=3, ts=T, name="vault.entry", severity="info"), T),
    ]
    assert confirmations(items) == {
        (A, BOOT): [(1, 4)],
        (A, "fedcba9876543210"): [(1, 1)],
        ("qingdao/s02/a1", BOOT): [(3, 3)],
    }


def test_a_quarantined_message_is_confirmed_when_its_boot_and_seq_are_readable() -> None:
    readable = json.dumps({"v": 2, "type": "heartbeat", "boot": BOOT, "seq": 9}).encode()
    unreadable = b"{not json"
    bad_boot = json.dumps({"v": 1, "boot": "NOT-HEX", "seq": 1}).encode()
    cases = [
        (f"sw/v1/{A}/heartbeat", readable),
        (f"sw/v1/{A}/heartbeat", unreadable),
        (f"sw/v1/{A}/heartbeat", bad_boot),
        ("not/a/topic", readable),
        (f"sw/v1/{A}/death", json.dumps({"type": "death", "boot": BOOT, "seq": 0}).encode()),
    ]
    keys = [claimed_key(topic, payload) for topic, payload in cases]
    assert keys == [(A, BOOT, 9), None, None, None, None]
    items = [Rejected(t, p, T, "x", "y", k) for (t, p), k in zip(cases, keys, strict=True)]
    assert confirmations(items) == {(A, BOOT): [(9, 9)]}


def test_the_hub_confirms_and_the_agent_outbox_drains(
    start_hub: StartHub, mqtt: tuple[str, int], tmp_path: Path
) -> None:
    start_hub()
    config = parse_config(
        {
            "agent": {"city": "acks", "site": "s1", "name": "a1", "heartbeat_s": 0.5},
            "broker": {"host": mqtt[0], "port": mqtt[1]},
            "devices": [{"driver": "sim-camera", "id": "cam-1"}],
        },
        "inline",
    )
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite", 1000)
    runner = AgentRunner(config, outbox)
    runner.start()
    try:
        wait_for(lambda: runner.supervisor.counters.heartbeats >= 6, 10, "six heartbeats")
        # Everything produced so far leaves the outbox once the hub has committed it.
        wait_for(lambda: outbox.stats().depth <= 1, 10, "the outbox drained by confirmations")
        assert runner.pump.counters.confirmed >= 7
    finally:
        runner.stop()
