"""The TimescaleDB lane for real: TimescaleDB SQL the hub relies on, through psycopg 3, on PGlite + TimescaleDB.

One lane per module (an empty in-memory database). The lane serves one connection at a time, so every test
opens its own connection and closes it before the next; each test uses its own tables, so the order is free.
Skipped only where node or npm is missing; anything else that stops the lane from starting is a failure.
"""

from __future__ import annotations

import socket
import struct
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from psycopg.rows import TupleRow
from psycopg.types.json import Jsonb

from hub.stack.timescale import TimescaleLane

pytestmark = pytest.mark.integration

Conn = psycopg.Connection[TupleRow]
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)  # older than any policy's interval, whatever the clock says
ARRAY_INSERT = (
    "INSERT INTO {table} (time, agent_id, value) "
    "SELECT * FROM unnest(%s::timestamptz[], %s::text[], %s::bigint[]) ON CONFLICT DO NOTHING"
)


@pytest.fixture(scope="module")
def lane() -> Iterator[TimescaleLane]:
    if not TimescaleLane.available():
        reason = "the TimescaleDB lane needs node and npm on PATH (Debian: apt-get install nodejs npm)"
        print(f"SKIP: {reason}", file=sys.stderr)
        pytest.skip(reason)
    began = time.monotonic()
    running = TimescaleLane()
    try:
        running.start()
        install = f"npm ci {running.install_seconds:.1f} s, " if running.install_seconds is not None else ""
        total = time.monotonic() - began
        print(f"\nTimescaleDB lane ready in {total:.1f} s ({install}server {running.start_seconds:.1f} s)")
        with psycopg.connect(running.dsn, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        yield running
    finally:
        running.stop()


@pytest.fixture
def conn(lane: TimescaleLane) -> Iterator[Conn]:
    with psycopg.connect(lane.dsn, autocommit=True) as connection:
        yield connection


def one(conn: Conn, query: str, params: tuple[object, ...] | None = None) -> object:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


def make_hypertable(conn: Conn, table: str) -> None:
    conn.execute(f"CREATE TABLE {table} (time timestamptz NOT NULL, agent_id text NOT NULL, value bigint NOT NULL)")
    conn.execute(f"SELECT create_hypertable('{table}', by_range('time', INTERVAL '1 hour'))")
    conn.execute(f"CREATE UNIQUE INDEX {table}_key ON {table} (agent_id, time)")


def rows(start: datetime, count: int, agent: str = "a1", step: timedelta = timedelta(minutes=1)) -> tuple[object, ...]:
    return ([start + i * step for i in range(count)], [agent] * count, list(range(count)))


def test_extension_is_timescaledb_2(lane: TimescaleLane) -> None:
    with psycopg.connect(lane.dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        version = one(conn, "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'")
    assert isinstance(version, str)
    assert version.startswith("2.")


def test_array_insert_is_idempotent(conn: Conn) -> None:
    make_hypertable(conn, "idem")
    batch = rows(T0, 300)  # five hours: five chunks
    first = conn.execute(ARRAY_INSERT.format(table="idem"), batch).rowcount
    again = conn.execute(ARRAY_INSERT.format(table="idem"), batch).rowcount
    assert (first, again) == (300, 0)
    assert one(conn, "SELECT count(*) FROM idem") == 300
    assert one(conn, "SELECT count(*) FROM show_chunks('idem')") == 5


def test_backfill_into_a_compressed_chunk(conn: Conn) -> None:
    make_hypertable(conn, "backfill")
    conn.execute(ARRAY_INSERT.format(table="backfill"), rows(T0, 120))  # two chunks
    conn.execute("ALTER TABLE backfill SET (timescaledb.compress, timescaledb.compress_segmentby = 'agent_id')")
    first_chunk = one(conn, "SELECT show_chunks('backfill') ORDER BY 1 LIMIT 1")
    conn.execute("SELECT compress_chunk(%s)", (first_chunk,))
    compressed = conn.execute(
        "SELECT chunk_name, is_compressed FROM timescaledb_information.chunks "
        "WHERE hypertable_name = 'backfill' ORDER BY range_start"
    ).fetchall()
    assert [c for _, c in compressed] == [True, False]

    duplicate = ([T0 + timedelta(minutes=5)], ["a1"], [999])
    new_row = ([T0 + timedelta(minutes=5, seconds=30)], ["a1"], [555])
    assert conn.execute(ARRAY_INSERT.format(table="backfill"), duplicate).rowcount == 0
    assert conn.execute(ARRAY_INSERT.format(table="backfill"), new_row).rowcount == 1
    assert one(conn, "SELECT count(*) FROM backfill") == 121
    assert one(conn, "SELECT count(*) FROM backfill WHERE time < %s", (T0 + timedelta(hours=1),)) == 61
    assert one(conn, "SELECT value FROM backfill WHERE time = %s", (T0 + timedelta(minutes=5),)) == 5

    # An upsert into the compressed chunk updates in place.
    conn.execute(
        "INSERT INTO backfill VALUES (%s, 'a1', 42) ON CONFLICT (agent_id, time) DO UPDATE SET value = EXCLUDED.value",
        (T0 + timedelta(minutes=6),),
    )
    assert one(conn, "SELECT value FROM backfill WHERE time = %s", (T0 + timedelta(minutes=6),)) == 42
    assert one(conn, "SELECT count(*) FROM backfill") == 121


def test_advisory_locks(conn: Conn) -> None:
    assert one(conn, "SELECT pg_try_advisory_lock(4242)") is True
    assert one(conn, "SELECT pg_advisory_unlock(4242)") is True
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(4243)")
        assert one(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 1
    assert one(conn, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'") == 0


def test_migration_style_ddl_in_one_transaction(lane: TimescaleLane) -> None:
    with psycopg.connect(lane.dsn) as conn:  # not autocommit: one transaction, as a migration runs
        conn.execute(
            "CREATE TABLE events (time timestamptz NOT NULL, agent_id text NOT NULL, kind text NOT NULL, "
            "body jsonb NOT NULL, seq bigint NOT NULL DEFAULT 0)"
        )
        conn.execute("SELECT create_hypertable('events', by_range('time', INTERVAL '1 day'))")
        conn.execute("CREATE UNIQUE INDEX events_key ON events (agent_id, kind, time)")
        conn.execute("CREATE UNIQUE INDEX events_open ON events (agent_id, time) WHERE (body->>'open') = 'true'")
        conn.commit()
    with psycopg.connect(lane.dsn, autocommit=True) as conn:
        upsert = (
            "INSERT INTO events (time, agent_id, kind, body) VALUES (%s, 'a1', 'door', %s) "
            "ON CONFLICT (agent_id, kind, time) DO UPDATE SET body = EXCLUDED.body, seq = events.seq + 1"
        )
        conn.execute(upsert, (T0, Jsonb({"open": False})))
        conn.execute(upsert, (T0, Jsonb({"open": True, "by": [1, 2]})))
        assert conn.execute("SELECT body->'by'->>1, seq FROM events").fetchall() == [("2", 1)]
        with pytest.raises(psycopg.errors.UniqueViolation):
            conn.execute("INSERT INTO events VALUES (%s, 'a1', 'other', %s)", (T0, Jsonb({"open": True})))


def test_rolled_back_hypertable_leaves_nothing(lane: TimescaleLane) -> None:
    with psycopg.connect(lane.dsn) as conn:
        conn.execute("CREATE TABLE rolled (time timestamptz NOT NULL)")
        conn.execute("SELECT create_hypertable('rolled', by_range('time'))")
        conn.rollback()
        assert one(conn, "SELECT to_regclass('rolled') IS NULL") is True
        assert (
            one(conn, "SELECT count(*) FROM timescaledb_information.hypertables WHERE hypertable_name = 'rolled'") == 0
        )


def test_policies_are_stored_and_run_by_run_job(conn: Conn) -> None:
    # The lane has no background workers: policies run only when called.
    make_hypertable(conn, "policed")
    conn.execute(ARRAY_INSERT.format(table="policed"), rows(LONG_AGO, 48, step=timedelta(hours=1)))
    conn.execute("ALTER TABLE policed SET (timescaledb.compress, timescaledb.compress_segmentby = 'agent_id')")
    compression = one(conn, "SELECT add_compression_policy('policed', compress_after => INTERVAL '7 days')")
    conn.execute("CALL run_job(%s)", (compression,))
    assert one(
        conn,
        "SELECT bool_and(is_compressed) FROM timescaledb_information.chunks WHERE hypertable_name = 'policed'",
    )
    retention = one(conn, "SELECT add_retention_policy('policed', drop_after => INTERVAL '30 days')")
    assert one(conn, "SELECT count(*) FROM show_chunks('policed')") == 48
    conn.execute("CALL run_job(%s)", (retention,))
    assert one(conn, "SELECT count(*) FROM show_chunks('policed')") == 0


def test_continuous_aggregate(conn: Conn) -> None:
    make_hypertable(conn, "readings")
    conn.execute(ARRAY_INSERT.format(table="readings"), rows(T0, 180))  # three hours, values 0..179
    conn.execute(
        "CREATE MATERIALIZED VIEW readings_hourly WITH (timescaledb.continuous) AS "
        "SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, agent_id, count(*) AS n, max(value) AS top "
        "FROM readings GROUP BY bucket, agent_id WITH NO DATA"
    )
    conn.execute("CALL refresh_continuous_aggregate('readings_hourly', NULL, NULL)")
    assert conn.execute("SELECT n, top FROM readings_hourly ORDER BY bucket").fetchall() == [
        (60, 59),
        (60, 119),
        (60, 179),
    ]
    policy = one(
        conn,
        "SELECT add_continuous_aggregate_policy('readings_hourly', start_offset => INTERVAL '30 days', "
        "end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '1 hour')",
    )
    assert isinstance(policy, int)


def test_each_connection_starts_a_fresh_session(lane: TimescaleLane) -> None:
    # PGlite is one backend; serve.mjs resets the session between clients, as a real server would start anew.
    left = psycopg.connect(lane.dsn, autocommit=True)
    left.execute("SET statement_timeout = '123s'")
    left.execute("PREPARE leftover AS SELECT 1")
    left.execute("CREATE TEMP TABLE leftover_tmp (x int)")
    left.execute("SELECT pg_advisory_lock(77)")
    left.execute("BEGIN")
    left.execute("CREATE TABLE uncommitted (x int)")
    left.close()  # with that transaction still open
    with psycopg.connect(lane.dsn, autocommit=True) as conn:
        assert conn.execute(
            "SELECT current_setting('statement_timeout'), current_setting('search_path'), "
            "(SELECT count(*) FROM pg_prepared_statements), to_regclass('leftover_tmp'), to_regclass('uncommitted'), "
            "(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory')"
        ).fetchone() == ("0", "public", 0, None, None, 0)


def test_statements_over_64_kib_copy_and_executemany(conn: Conn) -> None:
    make_hypertable(conn, "bulk")
    assert (
        conn.execute(ARRAY_INSERT.format(table="bulk"), rows(T0, 20_000, step=timedelta(seconds=1))).rowcount == 20_000
    )
    with conn.cursor().copy("COPY bulk (time, agent_id, value) FROM STDIN") as copy:
        for i in range(1000):
            copy.write_row((T0 + timedelta(days=1, seconds=i), "copy", i))
    with conn.cursor().copy("COPY bulk (time, agent_id, value) FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(["timestamptz", "text", "int8"])
        for i in range(1000):
            copy.write_row((T0 + timedelta(days=2, seconds=i), "binary", i))
    conn.cursor().executemany(
        "INSERT INTO bulk VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
        [(T0 + timedelta(days=3, seconds=i), "many", i) for i in range(200)],
    )
    assert conn.execute("SELECT agent_id, count(*) FROM bulk GROUP BY 1 ORDER BY 1").fetchall() == [
        ("a1", 20_000),
        ("binary", 1000),
        ("copy", 1000),
        ("many", 200),
    ]
    with pytest.raises(psycopg.errors.UniqueViolation), conn.cursor().copy("COPY bulk FROM STDIN") as copy:
        copy.write_row((T0, "a1", 0))
    assert one(conn, "SELECT count(*) FROM bulk") == 22_200


def test_a_client_reset_does_not_stop_the_lane(lane: TimescaleLane) -> None:
    assert lane.port is not None
    rude = socket.create_connection(("127.0.0.1", lane.port))
    startup = struct.pack("!I", 196608) + b"user\0postgres\0database\0postgres\0\0"
    rude.sendall(struct.pack("!I", len(startup) + 4) + startup)
    assert rude.recv(1) == b"R"  # the lane asks for a password: this client now holds the lane

    waited: dict[str, object] = {}

    def queued() -> None:
        with psycopg.connect(lane.dsn, autocommit=True) as conn:
            waited["answer"] = one(conn, "SELECT 1")

    behind = threading.Thread(target=queued)
    behind.start()
    time.sleep(0.5)
    rude.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    rude.close()  # RST, not FIN
    behind.join(timeout=20)
    assert waited == {"answer": 1}
    assert lane.running
