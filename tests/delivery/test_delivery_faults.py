"""Zero-loss delivery under faults: real agent and hub processes, a real Mosquitto and PostgreSQL.

Every test runs seq-numbered streams (tests/delivery/stream_agent.py), breaks something mid-stream,
lets each agent run until its outbox is empty (the hub confirmed everything), and then asserts from
the database that every seq of every boot is stored exactly once and that the stream's events
n = 0 … N-1 are each stored once.  Counts are exact; timings are only how long a fault lasts.
"""

from __future__ import annotations

import random
import sys
import time

import psycopg
import pytest
from delivery_harness import HubProcess, NewAgent, StartHub, StreamAgent, StreamReport, check_stream, wait_for
from proxy import TcpProxy

from hub.stack import Stack
from hub.stack.mosquitto import config_path
from hub.store.leader import LEADER_LOCK_KEY

pytestmark = pytest.mark.integration

DRAIN_TIMEOUT_S = 150.0


def assert_exactly_once(dsn: str, agent: StreamAgent, *, boots: int, began: float) -> StreamReport:
    """The agent has finished (its outbox drained): check what the hub stored, exactly."""
    assert agent.outbox_depth() == 0
    last = agent.runs[-1]
    assert last["refused"] == 0
    # Gaps seen while a fault lasted are closed as filled once the hub's gap check runs again.
    wait_for(lambda: check_stream(dsn, agent.agent_id, agent.total).open_gaps == 0, 15, "open gaps to close")
    report = check_stream(dsn, agent.agent_id, agent.total)
    assert report.problems == [], report.line()
    assert report.stream_events == agent.total
    assert len(report.boots) == boots
    assert report.sessions == boots
    # The last run's boot: the hub holds exactly the seqs it produced, no more, no fewer.
    assert report.boots[last["boot"]] == last["last_seq"]
    sys.stderr.write(f"[delivery] {report.line()}; {time.monotonic() - began:.1f} s; last run {last}\n")
    return report


def wait_produced(agent: StreamAgent, n: int) -> None:
    wait_for(lambda: agent.produced() >= n, 30, f"{agent.agent_id} to produce {n} events")


def test_hub_killed_mid_batch_five_times(start_hub: StartHub, new_agent: NewAgent, delivery_db: str) -> None:
    began = time.monotonic()
    hub = start_hub("h1")
    agents = [new_agent("a1", 900), new_agent("a2", 900)]
    for agent in agents:
        agent.start()
    rng = random.Random(3)
    for _ in range(5):
        wait_produced(agents[0], agents[0].produced() + rng.randint(30, 60))
        # Killed while the writer holds messages it has not committed, so not acked or confirmed either.
        wait_for(lambda: held_unacked(hub), 10, "the hub to hold a batch")
        hub.kill()
        time.sleep(rng.uniform(0.2, 1.0))
        hub.start()
    assert hub.kills == 5
    # Each restart resumed the broker's session for its client id: what it held unacked came again.
    assert hub.log.read_text(encoding="utf-8").count("(session resumed: True)") == 5
    for agent in agents:
        agent.finish(DRAIN_TIMEOUT_S)
    for agent in agents:
        assert_exactly_once(delivery_db, agent, boots=1, began=began)


def test_broker_restarted_without_persistence(
    delivery_stack: Stack, start_hub: StartHub, new_agent: NewAgent, delivery_db: str
) -> None:
    began = time.monotonic()
    # The premise: the broker forgets every session and queued message when it stops.
    assert "persistence false" in config_path(delivery_stack.settings).read_text(encoding="utf-8")
    start_hub("h1")
    agent = new_agent("a1", 600)
    agent.start()
    wait_produced(agent, 120)
    delivery_stack.stop_mqtt()
    time.sleep(3)
    delivery_stack.start_mqtt()
    summary = agent.finish(DRAIN_TIMEOUT_S)
    assert summary["connects"] >= 2
    assert_exactly_once(delivery_db, agent, boots=1, began=began)


def test_database_down_for_30_s(
    delivery_stack: Stack, start_hub: StartHub, new_agent: NewAgent, delivery_db: str
) -> None:
    began = time.monotonic()
    hub = start_hub("h1")
    agent = new_agent("a1", 1500)
    agent.start()
    wait_produced(agent, 120)
    delivery_stack.stop_postgres()
    down = time.monotonic()
    time.sleep(5)
    held = agent.pending()
    time.sleep(30 - (time.monotonic() - down))
    # Nothing was confirmed while the database was away: the outbox only grew.
    assert agent.pending() >= held + 20 * 30  # 25 s at a nominal 40 events/s, with room for a slow machine
    delivery_stack.start_postgres()
    agent.finish(DRAIN_TIMEOUT_S)
    assert "database unavailable; holding" in hub.log.read_text(encoding="utf-8")
    assert_exactly_once(delivery_db, agent, boots=1, began=began)


def test_agent_killed_while_publishing_then_restarted(
    start_hub: StartHub, new_agent: NewAgent, delivery_db: str
) -> None:
    began = time.monotonic()
    start_hub("h1")
    agent = new_agent("a1", 700)
    agent.start()
    wait_produced(agent, 200)
    # Killed while records wait for the hub's confirmation, so the restart has something to replay.
    wait_for(lambda: agent.pending() >= 5, 10, "unconfirmed records in the outbox")
    agent.kill()
    produced = agent.produced()
    time.sleep(0.5)
    agent.start()
    summary = agent.finish(DRAIN_TIMEOUT_S)
    assert summary["first_n"] == produced
    assert summary["replayed"] >= 1
    report = assert_exactly_once(delivery_db, agent, boots=2, began=began)
    assert summary["boot"] in report.boots


def test_network_cut_for_60_s_then_healed(
    broker: tuple[str, int], start_hub: StartHub, new_agent: NewAgent, delivery_db: str
) -> None:
    began = time.monotonic()
    start_hub("h1")
    proxy = TcpProxy(broker)
    try:
        agent = new_agent("a1", 1500, rate=20.0, via=("127.0.0.1", proxy.port))
        agent.start()
        wait_for(lambda: proxy.open_connections == 1, 10, "the agent connected through the proxy")
        wait_produced(agent, 100)
        proxy.cut()
        accepted = proxy.counters.accepted
        time.sleep(5)
        held = agent.pending()
        time.sleep(55)
        assert proxy.open_connections == 0
        assert proxy.counters.accepted == accepted
        assert agent.pending() >= held + 50 * 15  # 55 s at a nominal 20 events/s, with room
        proxy.heal()
        summary = agent.finish(DRAIN_TIMEOUT_S)
    finally:
        proxy.close()
    assert summary["connects"] >= 2
    assert_exactly_once(delivery_db, agent, boots=1, began=began)


def test_two_hubs_on_a_shared_subscription_one_killed(
    start_hub: StartHub, new_agent: NewAgent, delivery_db: str
) -> None:
    began = time.monotonic()
    hubs = {name: start_hub(name, shared_group="ingest") for name in ("h1", "h2")}
    agents = [new_agent(f"a{i}", 600, rate=30.0) for i in (1, 2, 3)]
    for agent in agents:
        agent.start()
    for agent in agents:
        wait_produced(agent, 120)
    # Both members take a share of the stream.
    for hub in hubs.values():
        wait_for(lambda hub=hub: hub.counters().get("stored", 0) > 0, 10, f"hub {hub.name} storing")
    leader = wait_for(lambda: leader_hub(delivery_db, hubs), 10, "a leader")
    leader.kill()
    survivor = next(h for h in hubs.values() if h is not leader)
    # The once-only work moves to the survivor when the leader's connection dies with it.
    wait_for(lambda: leader_hub(delivery_db, hubs) is survivor, 15, "the survivor to lead")
    for agent in agents:
        agent.finish(DRAIN_TIMEOUT_S)
    for agent in agents:
        assert_exactly_once(delivery_db, agent, boots=1, began=began)


# --- helpers --------------------------------------------------------------------------------------


def held_unacked(hub: HubProcess) -> bool:
    counters = hub.counters()
    return int(counters.get("received", 0)) > int(counters.get("acked", 0))


def leader_hub(dsn: str, hubs: dict[str, HubProcess]) -> HubProcess | None:
    """The hub whose sweeper holds the leader lock in this database."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE l.locktype = 'advisory' AND l.granted AND l.objid = %s AND l.database ="
            " (SELECT oid FROM pg_database WHERE datname = current_database())",
            (LEADER_LOCK_KEY,),
        ).fetchone()
    if row is None:
        return None
    return next((h for name, h in hubs.items() if row[0] == f"sitewatch-hub-{name}-sweeper"), None)
