"""The store against a real PostgreSQL (and the TimescaleDB lane): schema, idempotence, liveness, alerts."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hub_messages import AGENT, T0, birth, death, event, heartbeat, state

from hub.errors import StoreError, StoreUnavailable
from hub.store import Accepted, Connection, Rejected, apply_batch, connect, migrate, sweep_stale
from hub.store import queries as q
from hub.store.migrate import discover
from protocol.messages import Birth, Death, DeviceInfo, Event, Heartbeat, State

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC)
B1, B2, B9 = "b1b1b1b1", "b2b2b2b2", "b9b9b9b9"  # boot ids are 8 to 64 hex digits


def accepted(*messages: Birth | Death | Heartbeat | State | Event, at: datetime = NOW) -> list[Accepted]:
    return [Accepted(m, at) for m in messages]


def apply(conn: Connection, items: Sequence[Accepted | Rejected], at: datetime = NOW):
    return apply_batch(conn, items, at)


def agent_row(conn: Connection, agent_id: str = AGENT):
    return next(a for a in q.sites_snapshot(conn).agents if a.agent_id == agent_id)


@pytest.fixture
def db(store_conn: Connection) -> Connection:
    migrate(store_conn)
    return store_conn


def test_migrate_is_rerunnable(store_conn: Connection):
    applied, storage = migrate(store_conn)
    assert [m.version for m in applied] == [m.version for m in discover()]
    assert storage.mode == "postgresql"
    assert storage.describe() == "plain PostgreSQL tables (timescaledb not available)"
    again, _ = migrate(store_conn)
    assert again == []


def test_concurrent_migrations_apply_once(pg_dsn: str):
    results: list[int] = []
    errors: list[BaseException] = []

    def run() -> None:
        conn = connect(pg_dsn, "migrate-race")
        try:
            applied, _ = migrate(conn)
            results.append(len(applied))
        except BaseException as exc:
            errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == [0, 0, len(discover())]


def test_duplicates_are_stored_once(db: Connection):
    batch = accepted(birth(B1), heartbeat(B1, 1), state(B1, 2, {"vault-cam-1": "ok"}), event(B1, 3))
    first = apply(db, batch)
    assert (first.stored, first.duplicates) == (3, 0)
    second = apply(db, batch + accepted(heartbeat(B1, 1)))
    assert (second.stored, second.duplicates) == (0, 4)
    assert [q.count_rows(db, t) for t in ("heartbeats", "device_states", "events")] == [1, 1, 1]


def test_duplicate_within_one_batch(db: Connection):
    result = apply(db, accepted(heartbeat(B1, 1), heartbeat(B1, 1)))
    assert (result.stored, result.duplicates) == (1, 1)
    assert q.count_rows(db, "heartbeats") == 1


def test_birth_heartbeat_sweep_alert_cycle(db: Connection):
    apply(db, accepted(birth(B1), heartbeat(B1, 1)))
    row = agent_row(db)
    assert (row.online, row.boot, row.sw_version, len(row.devices)) == (True, B1, "0.1.0", 3)
    assert sweep_stale(db, NOW + timedelta(seconds=5), 12.0) == []
    (went,) = sweep_stale(db, NOW + timedelta(seconds=13), 12.0)
    assert went.reason == "stale"
    assert (agent_row(db).online, agent_row(db).offline_reason) == (False, "stale")
    (alert,) = q.list_alerts(db, "open")
    assert (alert.kind, alert.agent_id, alert.city, alert.site, alert.closed_at) == (
        "agent_offline",
        AGENT,
        "jinan",
        "s01",
        None,
    )
    assert q.sites_snapshot(db).open_alerts == {("jinan", "s01"): 1}
    # A second sweep neither re-opens nor duplicates.
    assert sweep_stale(db, NOW + timedelta(seconds=20), 12.0) == []
    assert len(q.list_alerts(db, "all")) == 1

    later = NOW + timedelta(seconds=30)
    apply(db, accepted(birth(B2, started_at=T0 + timedelta(hours=1)), at=later), at=later)
    assert agent_row(db).online
    assert q.list_alerts(db, "open") == []
    (closed,) = q.list_alerts(db, "all")
    assert closed.closed_at == later


def test_late_will_of_old_boot_keeps_new_session_online(db: Connection):
    apply(db, accepted(birth(B1), birth(B2, started_at=T0 + timedelta(minutes=5))))
    result = apply(db, accepted(death(B1)))
    assert result.transitions == []
    assert result.ignored == {"death_stale": 1}
    row = agent_row(db)
    assert (row.online, row.boot) == (True, B2)
    assert q.list_alerts(db, "all") == []


def test_retained_birth_does_not_revive_a_dead_session(db: Connection):
    apply(db, accepted(birth(B1)))
    apply(db, accepted(death(B1)))
    result = apply(db, [Accepted(birth(B1), NOW, retained=True)])
    assert result.ignored == {"birth_retained": 1}
    assert (agent_row(db).online, agent_row(db).offline_reason) == (False, "will")
    assert len(q.list_alerts(db, "open")) == 1


def test_will_of_current_boot_opens_an_alert_once(db: Connection):
    apply(db, accepted(birth(B1)))
    apply(db, accepted(death(B1)))
    apply(db, accepted(death(B1)))
    row = agent_row(db)
    assert (row.online, row.offline_reason) == (False, "will")
    assert len(q.list_alerts(db, "open")) == 1


def test_device_status_never_goes_back_in_time(db: Connection):
    apply(db, accepted(birth(B1)))
    apply(db, accepted(state(B1, 10, {"vault-cam-1": "fault"})))
    apply(db, accepted(state(B1, 5, {"vault-cam-1": "ok"})))  # older reading arriving late
    cam = next(d for d in agent_row(db).devices if d.device_id == "vault-cam-1")
    assert cam.status == "fault"
    assert cam.details == {"seq": 10}
    reader = next(d for d in agent_row(db).devices if d.device_id == "reader-101")
    assert (reader.status, reader.updated_at) == ("unknown", None)


def test_new_inventory_replaces_devices_but_keeps_status(db: Connection):
    apply(db, accepted(birth(B1), state(B1, 1, {"vault-cam-1": "warning"})))
    only_cam = [DeviceInfo(kind="camera", id="vault-cam-1", driver="rtsp", room="vault")]
    apply(db, accepted(birth(B2, started_at=T0 + timedelta(hours=1), devices=only_cam)))
    (cam,) = agent_row(db).devices
    assert (cam.device_id, cam.driver, cam.status) == ("vault-cam-1", "rtsp", "warning")


def test_traffic_without_birth_adopts_the_boot(db: Connection):
    result = apply(db, accepted(heartbeat(B9, 4)))
    assert len(result.transitions) == 1
    row = agent_row(db)
    assert (row.online, row.boot, row.started_at) == (True, B9, None)


def test_quarantine_in_the_same_transaction(db: Connection):
    bad = Rejected("sw/v1/jinan/s01/a1/heartbeat", b"\x00not json", NOW, "bad_payload", "payload is not JSON")
    result = apply(db, [*accepted(heartbeat(B1, 1)), bad])
    assert result.quarantined == {"bad_payload": 1}
    (row,) = q.list_quarantine(db)
    assert (row.topic, row.payload, row.error_code, row.reason) == (
        bad.topic,
        bad.payload,
        "bad_payload",
        "payload is not JSON",
    )


def test_refused_content_is_a_store_error_not_an_outage(db: Connection):
    # The wire contract stops this; the store must still refuse it cleanly if anything slips through.
    too_big = msgspec.structs.replace(heartbeat(B1, 1, ts=T0), seq=2**70)
    with pytest.raises(StoreError) as caught:
        apply(db, accepted(too_big))
    assert not isinstance(caught.value, StoreUnavailable)
    # The failed transaction left nothing behind and the connection still works.
    assert q.count_rows(db, "heartbeats") == 0
    apply(db, accepted(heartbeat(B1, 1)))
    assert q.count_rows(db, "heartbeats") == 1


def test_unreachable_database_is_unavailable():
    with pytest.raises(StoreUnavailable):
        connect("host=127.0.0.1 port=1 user=x dbname=x connect_timeout=2", "test")


def test_timescaledb_lane_uses_hypertables(timescale_dsn: str):
    conn = connect(timescale_dsn, "sitewatch-tests")
    try:
        _, storage = migrate(conn)
        assert storage.mode == "timescaledb"
        assert storage.describe().startswith("TimescaleDB ")
        _, again = migrate(conn)
        assert again == storage
        rows = conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()
        assert {r[0] for r in rows} == {"heartbeats", "device_states", "events"}
        batch = accepted(birth(B1), heartbeat(B1, 1), state(B1, 2, {"vault-cam-1": "ok"}), event(B1, 3))
        assert apply(conn, batch).stored == 3
        assert apply(conn, batch).duplicates == 3
        assert len(sweep_stale(conn, NOW + timedelta(seconds=13), 12.0)) == 1
        assert len(q.list_alerts(conn, "open")) == 1
    finally:
        conn.close()
