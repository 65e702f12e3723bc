"""``sitewatch hub`` as a real process against the real Mosquitto and PostgreSQL of the test stack.

The session broker is shared: other tests' agents leave retained births on it, which every new hub
subscription receives.  So each test uses an agent id of its own and looks only at that agent.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hub_harness import HubProcess, StartHub, wait_for
from hub_messages import birth, death, heartbeat, state, topic, wire

from hub.stack import Stack
from hub.store import connect
from hub.store import queries as q

pytestmark = pytest.mark.integration

Publish = Callable[..., None]
FAST = {"offline_after_s": 2.0, "sweep_s": 0.2}


@pytest.fixture
def agent_id() -> str:
    return f"c{uuid.uuid4().hex[:8]}/s01/a1"


def new_boot() -> str:
    return uuid.uuid4().hex[:16]


def send(publish: Publish, message: Any) -> None:
    publish(*wire(message))


def agent(hub: HubProcess, agent_id: str) -> dict[str, Any] | None:
    status, body = hub.get("api/sites")
    assert status == 200
    for city in body["cities"]:
        for site in city["sites"]:
            for a in site["agents"]:
                if a["agent_id"] == agent_id:
                    return dict(a, site_open_alerts=site["open_alerts"])
    return None


def open_alerts(hub: HubProcess, agent_id: str) -> list[dict[str, Any]]:
    status, body = hub.get("api/alerts?state=open")
    assert status == 200
    return [a for a in body["alerts"] if a["agent_id"] == agent_id]


def counters(hub: HubProcess) -> dict[str, Any]:
    return dict(hub.get("healthz")[1]["counters"])


@contextmanager
def heartbeats(publish: Publish, agent_id: str, boot: str, every_s: float = 0.4, first_seq: int = 1) -> Iterator[None]:
    """Publish heartbeats of ``boot`` from a thread for as long as the block runs."""
    stop = threading.Event()

    def beat() -> None:
        seq = first_seq
        while not stop.is_set():
            send(publish, heartbeat(boot, seq, ts=datetime.now(UTC), agent=agent_id))
            seq += 1
            stop.wait(every_s)

    thread = threading.Thread(target=beat, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def test_agent_lifecycle_offline_alert_rebirth_and_late_will(
    start_hub: StartHub, mosquitto_pub: Publish, agent_id: str
):
    hub = start_hub(**FAST)
    old, new = new_boot(), new_boot()
    started = datetime.now(UTC)
    send(mosquitto_pub, birth(old, started_at=started, agent=agent_id))
    send(mosquitto_pub, state(old, 1, {"vault-cam-1": "ok", "jammer-101": "fault"}, ts=started, agent=agent_id))

    # Birth + heartbeats → online with its devices within 5 s.
    with heartbeats(mosquitto_pub, agent_id, old, first_seq=2):
        a = wait_for(
            lambda: (x := agent(hub, agent_id)) and x["online"] and len(x["devices"]) == 3 and x, 5, "agent online"
        )
    assert a["boot"] == old
    assert a["sw_version"] == "0.1.0"
    statuses = {d["id"]: d["status"] for d in a["devices"]}
    assert statuses == {"vault-cam-1": "ok", "jammer-101": "fault", "reader-101": "unknown"}
    assert a["status"] == "fault"

    # Heartbeats stop → offline and an open agent_offline alert within 15 s.
    silent_since = time.monotonic()
    wait_for(lambda: (x := agent(hub, agent_id)) and not x["online"], 15, "agent offline")
    (alert,) = wait_for(lambda: open_alerts(hub, agent_id), 5, "an open alert")
    assert time.monotonic() - silent_since < 15
    assert (alert["kind"], alert["details"]["reason"]) == ("agent_offline", "stale")
    a = agent(hub, agent_id)
    assert a is not None
    assert (a["offline_reason"], a["status"], a["site_open_alerts"]) == ("stale", "offline", 1)

    # A new boot's birth → online again, the alert closed.
    send(mosquitto_pub, birth(new, started_at=started + timedelta(seconds=30), agent=agent_id))
    with heartbeats(mosquitto_pub, agent_id, new):
        wait_for(lambda: (x := agent(hub, agent_id)) and x["online"] and x["boot"] == new, 5, "new session online")
        wait_for(lambda: open_alerts(hub, agent_id) == [], 5, "alert closed")
        history = [a for a in hub.get("api/alerts?state=all")[1]["alerts"] if a["agent_id"] == agent_id]
        assert len(history) == 1
        assert history[0]["closed_at"] is not None

        # The old boot's will, arriving late, must not take the new session offline.
        ignored_before = counters(hub)["ignored"].get("death_stale", 0)
        send(mosquitto_pub, death(old, agent=agent_id))
        wait_for(lambda: counters(hub)["ignored"].get("death_stale", 0) > ignored_before, 5, "stale will seen")
        a = agent(hub, agent_id)
        assert a is not None
        assert (a["online"], a["boot"]) == (True, new)
        assert open_alerts(hub, agent_id) == []

    # The new session's own will does take it offline, with the reason.
    send(mosquitto_pub, death(new, agent=agent_id))
    wait_for(lambda: (x := agent(hub, agent_id)) and x["offline_reason"] == "will", 5, "offline by will")
    (alert,) = open_alerts(hub, agent_id)
    assert alert["details"]["reason"] == "will"


def test_bad_messages_are_quarantined_and_ingest_goes_on(
    start_hub: StartHub, mosquitto_pub: Publish, pg_dsn: str, agent_id: str
):
    hub = start_hub(**FAST)
    where = topic("heartbeat", agent_id)
    mosquitto_pub(where, b"not json {")
    mosquitto_pub(where, f'{{"v": 2, "type": "heartbeat", "agent": "{agent_id}"}}'.encode())

    conn = connect(pg_dsn, "test-reader")
    try:

        def mine() -> list[q.QuarantineRow]:
            return [r for r in q.list_quarantine(conn) if r.topic == where]

        rows = wait_for(lambda: len(r := mine()) == 2 and r, 5, "two quarantined messages")
        by_code = {r.error_code: r for r in rows}
        assert set(by_code) == {"bad_payload", "unsupported_version"}
        assert by_code["bad_payload"].payload == b"not json {"
        assert "not JSON" in by_code["bad_payload"].reason
        assert "v=2" in by_code["unsupported_version"].reason

        send(mosquitto_pub, heartbeat(new_boot(), 1, ts=datetime.now(UTC), agent=agent_id))
        wait_for(lambda: q.count_agent_rows(conn, "heartbeats", agent_id) == 1, 5, "the next heartbeat stored")
    finally:
        conn.close()
    status, health = hub.get("healthz")
    assert status == 200
    assert health["counters"]["quarantined"] == {"bad_payload": 1, "unsupported_version": 1}
    assert hub.proc.poll() is None


def test_duplicate_delivery_is_stored_once(start_hub: StartHub, mosquitto_pub: Publish, pg_dsn: str, agent_id: str):
    hub = start_hub(**FAST)
    boot = new_boot()
    message = heartbeat(boot, 7, ts=datetime.now(UTC), agent=agent_id)
    send(mosquitto_pub, message)
    send(mosquitto_pub, message)
    # One broker, one subscription, one writer: once a later message is stored, both copies were handled.
    send(mosquitto_pub, heartbeat(boot, 8, ts=datetime.now(UTC), agent=agent_id))
    conn = connect(pg_dsn, "test-reader")
    try:
        wait_for(lambda: q.count_agent_rows(conn, "heartbeats", agent_id) == 2, 5, "the marker heartbeat stored")
        time.sleep(0.3)
        assert q.count_agent_rows(conn, "heartbeats", agent_id) == 2
    finally:
        conn.close()
    assert counters(hub)["duplicates"] >= 1
    # No birth was ever seen: the heartbeat's boot is adopted and the agent shows online.
    a = agent(hub, agent_id)
    assert a is not None
    assert (a["online"], a["boot"]) == (True, boot)


def test_default_config_marks_silent_agent_offline_within_15_s(
    start_hub: StartHub, mosquitto_pub: Publish, agent_id: str
):
    hub = start_hub()  # offline_after_s = 12, sweep_s = 1
    boot = new_boot()
    send(mosquitto_pub, birth(boot, started_at=datetime.now(UTC), agent=agent_id))
    send(mosquitto_pub, heartbeat(boot, 1, ts=datetime.now(UTC), agent=agent_id))
    last_heartbeat = time.monotonic()
    wait_for(lambda: (x := agent(hub, agent_id)) and x["online"], 5, "agent online")
    wait_for(lambda: (x := agent(hub, agent_id)) and not x["online"], 16, "agent offline", interval=0.25)
    elapsed = time.monotonic() - last_heartbeat
    assert 12 <= elapsed <= 15, f"offline {elapsed:.1f} s after the last heartbeat"
    assert len(open_alerts(hub, agent_id)) == 1


def test_database_outage_holds_messages_and_loses_none(
    start_hub: StartHub, mosquitto_pub: Publish, pg_dsn: str, stack: Stack, agent_id: str
):
    hub = start_hub(**FAST)
    boot = new_boot()
    send(mosquitto_pub, birth(boot, started_at=datetime.now(UTC), agent=agent_id))
    with heartbeats(mosquitto_pub, agent_id, boot, every_s=0.3):
        wait_for(lambda: (x := agent(hub, agent_id)) and x["online"], 5, "agent online")
        stack.stop_postgres()
        try:
            wait_for(lambda: hub.get("healthz")[0] == 503, 10, "/healthz 503 while the database is down")
            time.sleep(3)  # longer than offline_after_s: heartbeats pile up unacked meanwhile
            status, body = hub.get("healthz")
            assert status == 503
            assert body["counters"]["received"] > body["counters"].get("acked", 0), "held, not acked"
        finally:
            stack.start_postgres()
        wait_for(lambda: hub.get("healthz")[0] == 200, 30, "/healthz 200 again")
        time.sleep(3)  # a sweep after recovery must not mistake the backlog for silence
    assert open_alerts(hub, agent_id) == [], "no false agent_offline alert from the outage"
    stats = wait_for(lambda: (c := counters(hub))["received"] == c.get("acked") and c, 5, "everything acked")
    assert stats["db_outages"] == 1
    assert hub.log_text().count("database unavailable; holding") == 1, "the writer logs an outage once"
    conn = connect(pg_dsn, "test-reader")
    try:
        assert q.count_agent_rows(conn, "heartbeats", agent_id) == stats["stored"]
    finally:
        conn.close()
