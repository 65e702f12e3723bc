"""The storage-mode-dependent schema: what TimescaleDB adds to the time series, and its plain stand-in.

Applied by :func:`hub.store.migrate.migrate` after the numbered migrations, in the same transaction and under
the same lock.  Each step is recorded in ``schema_migrations`` like a migration, with a version above 1000
(numbered files stop at 999) and a name that starts with its mode, so it runs once per database and a re-run
finds nothing to do.  A database that starts on plain PostgreSQL and later gets the extension receives the
TimescaleDB steps then.

On TimescaleDB (chunks of one day, see ``migrate.CHUNK_INTERVAL``):

* compression of heartbeats, device_states and events once a chunk is older than :data:`COMPRESS_AFTER`,
  segmented by agent (and device for device_states), newest first.  Late rows still go in: a backfill after a
  long outage lands in a compressed chunk, ``ON CONFLICT DO NOTHING`` still sees the unique index, and the next
  policy run compresses the chunk again;
* retention: heartbeats and device_states are dropped after :data:`KEEP_READINGS_FOR`.  Events are never
  dropped by a job: vault events are evidence that must be kept (rule V1), and "after the exam: a complete,
  tamper-evident record" is what the province asks for;
* ``device_status_1m``: a continuous aggregate, per device and minute, of the worst status, the number of
  readings and the last status.  A policy refreshes the last :data:`REFRESH_WINDOW`; newer minutes are computed
  from the raw rows when read (real-time).  Its rows outlive the readings behind them, so the per-minute record
  of every vault camera stays after the raw readings are dropped; it is compressed after
  :data:`AGGREGATE_COMPRESS_AFTER` (longer than the refresh window, so a refresh never rewrites compressed
  minutes).

The continuous aggregate is created ``WITH NO DATA`` inside the migration transaction (TimescaleDB refuses
to fill one inside a transaction block); :data:`HISTORY` then fills it from rows already stored, after the
commit, once (it matters only for a database converted from plain tables that already holds readings).

On plain PostgreSQL nothing is compressed or dropped, and ``device_status_1m`` is an ordinary view with the same
columns, computed when read.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from hub.store.records import StorageMode

# An exam period is a few days (papers arrive one or two days ahead, rule V2): a week keeps the whole period
# and the days after it, when late replays arrive and the desk looks back, in uncompressed chunks.
COMPRESS_AFTER = "7 days"
# Over a year: the readings behind a sitting (were the vault cameras live for the whole custody period, rule
# V4?) are still there for the sittings of the following year and for a leak investigated long after the
# papers went back (rule V1: evidence is kept).  Events are kept for good.
KEEP_READINGS_FOR = "400 days"
# How far back each refresh looks for late rows: longer than any outage the agents' outboxes are expected to
# bridge.  Later backfill is still stored; `CALL refresh_continuous_aggregate('device_status_1m', NULL, NULL)`
# brings the aggregate up to date with it.
REFRESH_WINDOW = "30 days"
REFRESH_EVERY = "5 minutes"
# Each batch of a refresh is its own transaction.  TimescaleDB 2.23's default of one bucket (here one minute)
# per batch made a refresh after a backfill about ten times slower on the test lane; an hour per batch keeps
# the transactions short and the overhead small.  No cap on batches per run, so one run catches up the whole
# window.
REFRESH_BUCKETS_PER_BATCH = 60
AGGREGATE_COMPRESS_AFTER = "45 days"

# Same order as hub.web.tree.SEVERITY (ok < unknown < warning < fault < offline); a status the protocol does
# not know counts as unknown.
_STATUS_RANK = (
    "CASE status WHEN 'ok' THEN 1 WHEN 'unknown' THEN 2 WHEN 'warning' THEN 3 WHEN 'fault' THEN 4"
    " WHEN 'offline' THEN 5 ELSE 2 END"
)
_WORST_STATUS = f"(ARRAY['ok', 'unknown', 'warning', 'fault', 'offline'])[max({_STATUS_RANK})]"


@dataclass(frozen=True, slots=True)
class Step:
    version: int
    name: str
    sql: sql.SQL | sql.Composed


def _compression() -> sql.Composed:
    # boot and seq close the order: TimescaleDB keeps their min/max per compressed batch, which narrows the
    # batches it must decompress to check a backfilled row against the unique index.
    return sql.SQL(
        "ALTER TABLE heartbeats SET (timescaledb.compress, timescaledb.compress_segmentby = 'agent_id',"
        " timescaledb.compress_orderby = 'time DESC, boot, seq');\n"
        "ALTER TABLE device_states SET (timescaledb.compress, timescaledb.compress_segmentby = 'agent_id, device_id',"
        " timescaledb.compress_orderby = 'time DESC, boot, seq');\n"
        "ALTER TABLE events SET (timescaledb.compress, timescaledb.compress_segmentby = 'agent_id',"
        " timescaledb.compress_orderby = 'time DESC, boot, seq');\n"
        "SELECT add_compression_policy('heartbeats', compress_after => {after}::interval, if_not_exists => TRUE);\n"
        "SELECT add_compression_policy('device_states', compress_after => {after}::interval, if_not_exists => TRUE);\n"
        "SELECT add_compression_policy('events', compress_after => {after}::interval, if_not_exists => TRUE);\n"
    ).format(after=sql.Literal(COMPRESS_AFTER))


def _retention() -> sql.Composed:
    return sql.SQL(
        "SELECT add_retention_policy('heartbeats', drop_after => {keep}::interval, if_not_exists => TRUE);\n"
        "SELECT add_retention_policy('device_states', drop_after => {keep}::interval, if_not_exists => TRUE);\n"
    ).format(keep=sql.Literal(KEEP_READINGS_FOR))


def _device_status_1m() -> sql.Composed:
    # DROP VIEW: the plain stand-in, in a database that ran without TimescaleDB before.
    return sql.SQL(
        "DROP VIEW IF EXISTS device_status_1m;\n"
        "CREATE MATERIALIZED VIEW device_status_1m"
        " WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS"
        " SELECT time_bucket(INTERVAL '1 minute', time) AS bucket, agent_id, device_id,"
        " {worst} AS worst_status,"
        " count(*) AS readings,"
        " last(status, time) AS last_status"
        " FROM device_states GROUP BY bucket, agent_id, device_id"
        " WITH NO DATA;\n"
        "SELECT add_continuous_aggregate_policy('device_status_1m', start_offset => {window}::interval,"
        " end_offset => INTERVAL '1 minute', schedule_interval => {every}::interval,"
        " buckets_per_batch => {batch}, max_batches_per_execution => 0, if_not_exists => TRUE);\n"
        "ALTER MATERIALIZED VIEW device_status_1m SET (timescaledb.compress = true);\n"
        "SELECT add_compression_policy('device_status_1m', compress_after => {compress}::interval,"
        " if_not_exists => TRUE);\n"
    ).format(
        worst=sql.SQL(_WORST_STATUS),
        window=sql.Literal(REFRESH_WINDOW),
        every=sql.Literal(REFRESH_EVERY),
        batch=sql.Literal(REFRESH_BUCKETS_PER_BATCH),
        compress=sql.Literal(AGGREGATE_COMPRESS_AFTER),
    )


def _plain_device_status_1m() -> sql.Composed:
    # date_bin with time_bucket's default origin (a Monday, UTC), so both modes cut the same minutes.
    return sql.SQL(
        "CREATE VIEW device_status_1m AS"
        " SELECT date_bin(INTERVAL '1 minute', time, TIMESTAMPTZ '2000-01-03 00:00:00+00') AS bucket,"
        " agent_id, device_id,"
        " {worst} AS worst_status,"
        " count(*) AS readings,"
        " (array_agg(status ORDER BY time DESC, seq DESC))[1] AS last_status"
        " FROM device_states GROUP BY 1, 2, 3;\n"
    ).format(worst=sql.SQL(_WORST_STATUS))


TIMESCALEDB_STEPS = (
    Step(1001, "timescaledb_compression", _compression()),
    Step(1002, "timescaledb_retention", _retention()),
    Step(1003, "timescaledb_device_status_1m", _device_status_1m()),
)
# Outside any transaction, after the migration commits; recorded only once it has succeeded.
HISTORY = Step(
    1004,
    "timescaledb_device_status_1m_history",
    sql.SQL("CALL refresh_continuous_aggregate('device_status_1m', NULL, NULL)"),
)
POSTGRESQL_STEPS = (Step(1101, "postgresql_device_status_1m", _plain_device_status_1m()),)


def steps_for(mode: StorageMode) -> tuple[Step, ...]:
    return TIMESCALEDB_STEPS if mode == "timescaledb" else POSTGRESQL_STEPS


def describe(mode: StorageMode) -> str:
    """What the storage mode does with the time series, for the hub's start-up log."""
    if mode == "timescaledb":
        return (
            f"heartbeats, device_states and events compressed after {COMPRESS_AFTER}; heartbeats and device_states"
            f" dropped after {KEEP_READINGS_FOR}, events kept; device_status_1m continuous aggregate refreshed"
            f" every {REFRESH_EVERY} over the last {REFRESH_WINDOW}"
        )
    return "nothing compressed or dropped; device_status_1m is a plain view computed when read"
