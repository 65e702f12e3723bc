"""The writer's time-series insert: the probe-then-COPY plan (pure parts) and its idempotence under concurrency."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from hub_messages import AGENT, T0, birth, death, event, heartbeat, state

from hub.errors import StoreError, StoreUnavailable
from hub.store import Accepted, BatchResult, Connection, apply_batch, connect, migrate
from hub.store import queries as q
from hub.store.timeseries import DEVICE_STATES, EVENTS, HEARTBEATS, Span, fresh_rows, probe_for, table_rows

B1, B2 = "b1b1b1b1", "b2b2b2b2"
OTHER = "jinan/s02/a1"


def accepted(*messages: object) -> list[Accepted]:
    return [Accepted(m, T0) for m in messages]  # type: ignore[arg-type]


# --- pure: what is probed and what is copied ---------------------------------------------------


def test_probe_spans_each_boot_and_bounds_the_batch_time():
    items = accepted(
        birth(B1),
        heartbeat(B1, 7),
        event(B1, 3),
        state(B1, 5, {"vault-cam-1": "ok"}),
        heartbeat(B2, 1),
        heartbeat(B1, 9, agent=OTHER),
        death(B1),
    )
    probe = probe_for(items)
    assert probe is not None
    assert probe.spans == (Span(AGENT, B1, 3, 7), Span(AGENT, B2, 1, 1), Span(OTHER, B1, 9, 9))
    assert (probe.first_time, probe.last_time) == (T0 + timedelta(seconds=1), T0 + timedelta(seconds=9))


def test_no_probe_without_time_series():
    assert probe_for(accepted(birth(B1), death(B1))) is None


def test_each_device_of_a_state_is_a_row():
    rows = table_rows(accepted(state(B1, 2, {"vault-cam-1": "ok", "reader-101": "fault"}), heartbeat(B1, 1)))
    assert set(rows) == {DEVICE_STATES, HEARTBEATS}
    assert [(r[4], r[6], r[8]) for r in rows[DEVICE_STATES]] == [(2, "vault-cam-1", "ok"), (2, "reader-101", "fault")]


def test_fresh_rows_skip_what_is_stored_and_repeats_within_the_batch():
    items = accepted(heartbeat(B1, 1), heartbeat(B1, 2), heartbeat(B1, 1), heartbeat(B1, 3))
    rows = table_rows(items)[HEARTBEATS]
    stored = {HEARTBEATS.key(rows[1])}
    fresh, keys = fresh_rows(HEARTBEATS, rows, stored)
    assert [r[4] for r in fresh] == [1, 3]
    assert keys == {(AGENT, B1, 1), (AGENT, B1, 3)}


def test_fresh_rows_key_device_states_by_device():
    rows = table_rows(accepted(state(B1, 4, {"vault-cam-1": "ok", "reader-101": "ok"})))[DEVICE_STATES]
    fresh, keys = fresh_rows(DEVICE_STATES, rows, {DEVICE_STATES.key(rows[0])})
    assert [r[6] for r in fresh] == ["reader-101"]
    assert keys == {(AGENT, B1, 4)}


def test_the_key_is_what_the_unique_index_holds():
    (row,) = table_rows(accepted(event(B1, 5)))[EVENTS]
    assert EVENTS.key(row) == (AGENT, B1, 5, T0 + timedelta(seconds=5))


# --- real PostgreSQL -----------------------------------------------------------------------------

pg = pytest.mark.integration


@pytest.fixture
def db(store_conn: Connection) -> Connection:
    migrate(store_conn)
    return store_conn


@pg
def test_replayed_batch_mixing_stored_and_new_messages(db: Connection):
    apply_batch(db, accepted(heartbeat(B1, 1), state(B1, 2, {"vault-cam-1": "ok"}), event(B1, 3)), T0)
    later = accepted(
        heartbeat(B1, 1),
        state(B1, 2, {"vault-cam-1": "ok", "reader-101": "ok"}),  # one device more: its row is new
        event(B1, 3),
        heartbeat(B1, 4),
        event(B1, 5),
        event(B1, 5),
    )
    result = apply_batch(db, later, T0)
    # The state counts as stored because one of its rows was new; the second event 5 is a duplicate.
    assert (result.stored, result.duplicates) == (3, 3)
    assert [q.count_rows(db, t) for t in ("heartbeats", "device_states", "events")] == [2, 2, 2]


@pg
def test_two_writers_storing_the_same_messages_store_each_once(pg_dsn: str, db: Connection):
    """Two hubs handed overlapping copies at the same moment (a shared subscription after a redelivery)."""
    apply_batch(db, accepted(birth(B1), birth(B1, agent=OTHER)), T0)
    first = accepted(*(heartbeat(B1, s) for s in range(1, 301)), *(event(B1, s, agent=OTHER) for s in range(1, 101)))
    second = accepted(
        *(heartbeat(B1, s) for s in range(151, 451)), *(event(B1, s, agent=OTHER) for s in range(51, 151))
    )
    conns = [connect(pg_dsn, "writer-a"), connect(pg_dsn, "writer-b")]
    start = threading.Barrier(2)
    results: list[BatchResult] = []
    errors: list[BaseException] = []

    def store(conn: Connection, items: list[Accepted]) -> None:
        start.wait()
        try:
            results.append(apply_batch(conn, items, T0))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=store, args=pair) for pair in zip(conns, (first, second), strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for conn in conns:
        conn.close()
    assert errors == []
    assert sum(r.stored for r in results) == 450 + 150
    assert sum(r.duplicates for r in results) == 150 + 50
    seqs = db.execute("SELECT seq FROM heartbeats WHERE agent_id = %s ORDER BY seq", (AGENT,)).fetchall()
    assert [s for (s,) in seqs] == list(range(1, 451))
    events = db.execute("SELECT count(DISTINCT seq), count(*) FROM events WHERE agent_id = %s", (OTHER,)).fetchone()
    assert events == (150, 150)


@pg
def test_a_row_written_without_the_agent_lock_is_refused_not_doubled(pg_dsn: str, db: Connection):
    """The unique index stays the last word: what slips past the probe fails the COPY as refused content."""
    apply_batch(db, accepted(birth(B1)), T0)
    intruder = connect(pg_dsn, "intruder")
    try:
        with intruder.transaction():
            # Committed after our probe ran and before our COPY could insert the same key.
            intruder.execute(
                "INSERT INTO heartbeats (time, received_at, agent_id, boot, seq, historical, uptime_s, outbox_depth)"
                " VALUES (%s, %s, %s, %s, 1, false, 1.0, 0)",
                (T0 + timedelta(seconds=1), T0, AGENT, B1),
            )
            outcome: list[BaseException | BatchResult] = []

            def store() -> None:
                try:
                    outcome.append(apply_batch(db, accepted(heartbeat(B1, 1)), T0))
                except BaseException as exc:
                    outcome.append(exc)

            writer = threading.Thread(target=store)
            writer.start()
            writer.join(1.0)
            assert writer.is_alive(), "the COPY waits on the intruder's uncommitted key"
        writer.join(30)
    finally:
        intruder.close()
    (result,) = outcome
    assert isinstance(result, StoreError)
    assert not isinstance(result, StoreUnavailable)
    assert q.count_rows(db, "heartbeats") == 1
    # Stored again on its own (as the writer does after a refusal), it is now a duplicate.
    again = apply_batch(db, accepted(heartbeat(B1, 1)), T0)
    assert (again.stored, again.duplicates) == (0, 1)
