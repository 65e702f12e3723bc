"""The storage modes for real: TimescaleDB (the PGlite lane) and plain PostgreSQL 15, through the hub's own writer.

On the lane the policies never run by themselves (no background workers): each test that needs one runs its
job with ``CALL run_job(id)``, which also proves the job's configuration is valid.  The lane serves one
connection at a time, so every test closes its connection before the next opens one; tests that share the
module's lane use their own agent ids and time ranges.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hub_messages import heartbeat, state

from hub.stack.timescale import TimescaleLane, TimescaleLaneError
from hub.store import Accepted, BatchResult, Connection, apply_batch, connect, migrate
from hub.store.migrate import discover
from protocol.messages import Event, Heartbeat, State

pytestmark = pytest.mark.integration

BOOT = "c0ffee01"
TS_STEPS = {1001: "timescaledb_compression", 1002: "timescaledb_retention", 1003: "timescaledb_device_status_1m"}
TS_HISTORY = {1004: "timescaledb_device_status_1m_history"}
PLAIN_STEPS = {1101: "postgresql_device_status_1m"}
SERIES = ("heartbeats", "device_states", "events")


def hour_ago(days: float) -> datetime:
    """A whole hour ``days`` before now: a test's rows (seconds apart) then sit in one one-day chunk."""
    return (datetime.now(UTC) - timedelta(days=days)).replace(minute=0, second=0, microsecond=0)


def vault_event(agent: str, seq: int, ts: datetime) -> Event:
    return Event(
        agent=agent,
        boot=BOOT,
        seq=seq,
        ts=ts,
        name="vault.entry",
        severity="info",
        device="vault-cam-1",
        details={"people": 2},
    )


def stream(agent: str, base: datetime, seqs: Sequence[int], every_s: int = 1) -> list[Heartbeat | State | Event]:
    """seq % 3: 0 a heartbeat, 1 a state of two devices, 2 a vault event; seq n at base + n * every_s seconds."""
    made: list[Heartbeat | State | Event] = []
    for seq in seqs:
        ts = base + timedelta(seconds=seq * every_s)
        if seq % 3 == 0:
            made.append(heartbeat(BOOT, seq, ts=ts, agent=agent, historical=True))
        elif seq % 3 == 1:
            made.append(state(BOOT, seq, {"vault-cam-1": "ok", "reader-101": "warning"}, ts=ts, agent=agent))
        else:
            made.append(vault_event(agent, seq, ts))
    return made


def store(conn: Connection, messages: Sequence[Heartbeat | State | Event]) -> BatchResult:
    now = datetime.now(UTC)
    return apply_batch(conn, [Accepted(m, now) for m in messages], now)


def counts(conn: Connection, agent: str) -> tuple[int, int, int]:
    row = conn.execute(
        "SELECT (SELECT count(*) FROM heartbeats WHERE agent_id = %(a)s),"
        " (SELECT count(*) FROM device_states WHERE agent_id = %(a)s),"
        " (SELECT count(*) FROM events WHERE agent_id = %(a)s)",
        {"a": agent},
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2])


def expected_counts(seqs: Sequence[int]) -> tuple[int, int, int]:
    return (
        sum(1 for s in seqs if s % 3 == 0),
        2 * sum(1 for s in seqs if s % 3 == 1),
        sum(1 for s in seqs if s % 3 == 2),
    )


def job(conn: Connection, proc: str, relation: str) -> int:
    row = conn.execute(
        "SELECT job_id FROM timescaledb_information.jobs WHERE proc_name = %s AND hypertable_name = %s",
        (f"policy_{proc}", relation),
    ).fetchone()
    assert row is not None, f"no {proc} policy on {relation}"
    return int(row[0])


def run_job(conn: Connection, proc: str, relation: str) -> None:
    conn.execute("CALL run_job(%s)", (job(conn, proc, relation),))


def chunks(conn: Connection, table: str, at: datetime) -> list[tuple[str, bool]]:
    """(schema.name, compressed) of the chunks of ``table`` holding ``at``."""
    rows = conn.execute(
        "SELECT chunk_schema || '.' || chunk_name, is_compressed FROM timescaledb_information.chunks"
        " WHERE hypertable_name = %s AND range_start <= %s AND range_end > %s",
        (table, at, at),
    ).fetchall()
    return [(str(r[0]), bool(r[1])) for r in rows]


def recorded_steps(conn: Connection) -> dict[int, str]:
    rows = conn.execute("SELECT version, name FROM schema_migrations WHERE version > 1000").fetchall()
    return {int(r[0]): str(r[1]) for r in rows}


def minutes(conn: Connection, agent: str) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT bucket, device_id, worst_status, readings, last_status FROM device_status_1m"
        " WHERE agent_id = %s ORDER BY bucket, device_id",
        (agent,),
    ).fetchall()


def schema_of(conn: Connection) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Columns (of the time series and device_status_1m) and the time series' indexes, as comparable rows."""
    columns = conn.execute(
        "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = ANY(%s) ORDER BY table_name, ordinal_position",
        ([*SERIES, "device_status_1m"],),
    ).fetchall()
    indexes = conn.execute(
        "SELECT tablename, indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = 'public' AND tablename = ANY(%s) ORDER BY tablename, indexname",
        (list(SERIES),),
    ).fetchall()
    return columns, indexes


@pytest.fixture
def lane(timescale_dsn: str) -> Iterator[Connection]:
    """A migrated connection to the module's TimescaleDB lane (one at a time: it is closed after the test)."""
    conn = connect(timescale_dsn, "sitewatch-tests")
    try:
        migrate(conn)
        yield conn
    finally:
        conn.close()


# -- TimescaleDB -----------------------------------------------------------------------------------------------


def test_timescaledb_steps_apply_once_and_the_mode_is_logged(lane: Connection, caplog: pytest.LogCaptureFixture):
    jobs_before = lane.execute("SELECT count(*) FROM timescaledb_information.jobs").fetchone()
    with caplog.at_level(logging.INFO, logger="sitewatch.hub.store"):
        applied, storage = migrate(lane)
        again, _ = migrate(lane)
    assert (applied, again, storage.mode) == ([], [], "timescaledb")
    assert "applied" not in caplog.text
    assert "compressed after 7 days" in caplog.text
    assert "device_status_1m continuous aggregate" in caplog.text
    assert recorded_steps(lane) == TS_STEPS | TS_HISTORY
    assert lane.execute("SELECT count(*) FROM timescaledb_information.jobs").fetchone() == jobs_before

    settings = lane.execute(
        "SELECT hypertable, segmentby, orderby FROM timescaledb_information.hypertable_compression_settings"
        " WHERE hypertable::text = ANY(%s) ORDER BY 1::text",
        (list(SERIES),),
    ).fetchall()
    assert sorted((str(h), s, o) for h, s, o in settings) == [
        ("device_states", "agent_id,device_id", '"time" DESC,boot,seq'),
        ("events", "agent_id", '"time" DESC,boot,seq'),
        ("heartbeats", "agent_id", '"time" DESC,boot,seq'),
    ]
    policies = lane.execute(
        "SELECT proc_name, hypertable_name, config - 'hypertable_id' - 'mat_hypertable_id'"
        " FROM timescaledb_information.jobs WHERE job_id >= 1000"  # below 1000: TimescaleDB's own jobs
    ).fetchall()
    assert sorted(policies) == [
        ("policy_compression", "device_states", {"compress_after": "7 days"}),
        ("policy_compression", "device_status_1m", {"compress_after": "45 days"}),
        ("policy_compression", "events", {"compress_after": "7 days"}),
        ("policy_compression", "heartbeats", {"compress_after": "7 days"}),
        (
            "policy_refresh_continuous_aggregate",
            "device_status_1m",
            {
                "start_offset": "30 days",
                "end_offset": "00:01:00",
                "buckets_per_batch": 60,
                "max_batches_per_execution": 0,
            },
        ),
        ("policy_retention", "device_states", {"drop_after": "400 days"}),
        ("policy_retention", "heartbeats", {"drop_after": "400 days"}),
    ]  # no retention on events: evidence is kept (rule V1)


def test_backfill_into_compressed_chunks_is_idempotent(lane: Connection):
    agent = "jinan/s01/backfill"
    base = hour_ago(10)  # older than the 7 days after which chunks are compressed
    first, replay = range(1, 61), range(1, 91)

    def messages(seqs: range) -> list[Heartbeat | State | Event]:
        return stream(agent, base, seqs, every_s=20)  # 30 minutes in all: one refresh must catch up every one

    result = store(lane, messages(first))
    assert (result.stored, result.duplicates) == (60, 0)
    assert counts(lane, agent) == expected_counts(first) == (20, 40, 20)

    for table in SERIES:
        run_job(lane, "compression", table)
    for table in SERIES:
        assert [compressed for _, compressed in chunks(lane, table, base)] == [True], table

    # The outage ends: the agent replays all it still holds (already stored) and what the hub never got.
    result = store(lane, messages(replay))
    assert (result.stored, result.duplicates) == (30, 60)
    assert counts(lane, agent) == expected_counts(replay) == (30, 60, 30)
    result = store(lane, messages(replay))
    assert (result.stored, result.duplicates) == (0, 90)

    for table in SERIES:  # the policy compresses the chunk again, rows and all
        run_job(lane, "compression", table)
        ((chunk, compressed),) = chunks(lane, table, base)
        assert compressed, table
        assert lane.execute(f"SELECT count(*) FROM ONLY {chunk}").fetchone() == (0,)  # nothing left uncompressed
    assert counts(lane, agent) == (30, 60, 30)
    assert (store(lane, messages(replay)).stored, counts(lane, agent)) == (0, (30, 60, 30))

    run_job(lane, "refresh_continuous_aggregate", "device_status_1m")
    rows = minutes(lane, agent)
    assert (len(rows), sum(r[3] for r in rows)) == (2 * 30, 60)  # two devices, one state a minute
    assert {(r[1], r[2], r[4]) for r in rows} == {("reader-101", "warning", "warning"), ("vault-cam-1", "ok", "ok")}


def test_device_status_1m_worst_count_and_last(lane: Connection):
    agent = "jinan/s01/minutes"
    base = hour_ago(2)
    readings = [(5, "ok"), (20, "fault"), (40, "warning"), (65, "ok"), (80, "unknown"), (95, "offline"), (110, "ok")]
    messages = [
        state(BOOT, seq, {"vault-cam-1": status}, ts=base + timedelta(seconds=second), agent=agent)
        for seq, (second, status) in enumerate(readings)
    ]
    store(lane, messages)
    run_job(lane, "refresh_continuous_aggregate", "device_status_1m")
    expected = [
        (base, "vault-cam-1", "fault", 3, "warning"),
        (base + timedelta(minutes=1), "vault-cam-1", "offline", 4, "ok"),
    ]
    assert minutes(lane, agent) == expected
    lane.execute("ALTER MATERIALIZED VIEW device_status_1m SET (timescaledb.materialized_only = true)")
    try:
        assert minutes(lane, agent) == expected  # materialized by the policy's job, not computed on read
    finally:
        lane.execute("ALTER MATERIALIZED VIEW device_status_1m SET (timescaledb.materialized_only = false)")

    # The minute now under way is past what any refresh has materialized (it stops a minute short of now):
    # it is computed from the raw rows when read.
    now = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=2)
    store(lane, [state(BOOT, 100, {"vault-cam-1": "fault"}, ts=now, agent=agent)])
    assert minutes(lane, agent)[-1] == (now.replace(second=0), "vault-cam-1", "fault", 1, "fault")


def test_retention_drops_old_readings_but_keeps_events_and_minutes(lane: Connection):
    agent = "jinan/s01/retention"
    old, recent = hour_ago(500), hour_ago(300)
    store(lane, stream(agent, old, range(1, 7)) + stream(agent, recent, range(7, 13)))
    assert counts(lane, agent) == (4, 8, 4)
    # Older than the refresh window: only an explicit refresh materializes these minutes.
    lane.execute(
        "CALL refresh_continuous_aggregate('device_status_1m', %s::timestamptz, %s::timestamptz)",
        (old, recent + timedelta(hours=1)),
    )
    materialized = minutes(lane, agent)
    assert [(r[0], r[3]) for r in materialized] == [(old, 2), (old, 2), (recent, 2), (recent, 2)]

    run_job(lane, "retention", "heartbeats")
    run_job(lane, "retention", "device_states")
    assert counts(lane, agent) == (2, 4, 4)  # the 500-day-old heartbeats and states are gone, no event is
    assert chunks(lane, "heartbeats", old) == chunks(lane, "device_states", old) == []
    assert chunks(lane, "events", old) != []
    assert minutes(lane, agent) == materialized  # ... and the per-minute record of them stays

    run_job(lane, "compression", "device_status_1m")
    assert minutes(lane, agent) == materialized


def test_plain_database_converts_to_timescaledb():
    """A database that ran on plain PostgreSQL, then got the extension: tables and history carried over."""
    if not TimescaleLane.available():
        pytest.skip("node/npm not installed: no TimescaleDB lane")
    private = TimescaleLane()  # its own, empty database
    try:
        dsn = private.start()
    except TimescaleLaneError as exc:
        pytest.skip(f"TimescaleDB lane did not start: {exc}")
    try:
        conn = connect(dsn, "sitewatch-tests")
        try:
            applied, storage = migrate(conn, use_timescaledb=False)
            assert (len(applied), storage.mode, storage.note) == (
                len(discover()),
                "postgresql",
                "timescaledb not wanted",
            )
            assert recorded_steps(conn) == PLAIN_STEPS
            agent = "jinan/s01/convert"
            base = hour_ago(40)  # older than the refresh window: only the one-time history fill covers it
            store(conn, stream(agent, base, range(1, 31)))
            before = minutes(conn, agent)

            applied, storage = migrate(conn)
            assert (applied, storage.mode) == ([], "timescaledb")
            assert recorded_steps(conn) == PLAIN_STEPS | TS_STEPS | TS_HISTORY
            hypertables = conn.execute("SELECT hypertable_name FROM timescaledb_information.hypertables").fetchall()
            assert sorted(h for (h,) in hypertables) == sorted(SERIES)
            assert counts(conn, agent) == (10, 20, 10)
            conn.execute("ALTER MATERIALIZED VIEW device_status_1m SET (timescaledb.materialized_only = true)")
            assert minutes(conn, agent) == before
            assert sum(r[3] for r in before) == 20

            assert migrate(conn) == ([], storage)
            assert store(conn, stream(agent, base, range(1, 31))).duplicates == 30
        finally:
            conn.close()
    finally:
        private.stop()


# -- both modes ------------------------------------------------------------------------------------------------


def test_same_columns_and_indexes_on_both_modes(store_conn: Connection, lane: Connection):
    _, plain = migrate(store_conn)
    assert plain.mode == "postgresql"
    plain_columns, plain_indexes = schema_of(store_conn)
    ts_columns, ts_indexes = schema_of(lane)
    assert len({r[0] for r in plain_columns}) == 4
    assert plain_columns == ts_columns
    assert plain_indexes == ts_indexes


def test_device_status_1m_agrees_on_both_modes(store_conn: Connection, lane: Connection):
    migrate(store_conn)
    agent = "jinan/s01/agree"
    messages = stream(agent, hour_ago(1), range(1, 200, 2))
    for conn in (store_conn, lane):
        store(conn, messages)
    run_job(lane, "refresh_continuous_aggregate", "device_status_1m")  # an earlier refresh may have passed them
    assert minutes(store_conn, agent) == minutes(lane, agent)
    assert len(minutes(store_conn, agent)) > 4


# -- plain PostgreSQL ----------------------------------------------------------------------------------------


def test_plain_postgresql_migrates_once_and_logs_the_mode(store_conn: Connection, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.INFO, logger="sitewatch.hub.store"):
        applied, storage = migrate(store_conn)
        assert "applied postgresql_device_status_1m" in caplog.text
        caplog.clear()
        again, same = migrate(store_conn)
    assert (len(applied), again, same) == (len(discover()), [], storage)
    assert storage.mode == "postgresql"
    assert "applied" not in caplog.text
    assert "plain PostgreSQL tables" in caplog.text
    assert "nothing compressed or dropped" in caplog.text
    assert recorded_steps(store_conn) == PLAIN_STEPS
    no_extension = store_conn.execute("SELECT count(*) FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    assert no_extension == (0,)

    agent = "jinan/s01/plain"
    base = hour_ago(10)
    assert store(store_conn, stream(agent, base, range(1, 61))).stored == 60
    result = store(store_conn, stream(agent, base, range(1, 91)))
    assert (result.stored, result.duplicates, counts(store_conn, agent)) == (30, 60, (30, 60, 30))
