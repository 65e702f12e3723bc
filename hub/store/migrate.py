"""Versioned, re-runnable schema migrations, and the choice between TimescaleDB and plain tables.

Migrations are ``migrations/NNN_name.sql``, applied in version order, each recorded in
``schema_migrations``.  Everything runs in one transaction under a transaction-level advisory lock, so
several hubs starting together migrate once and the others wait, then find nothing to do.

The storage step runs on every start: if the server offers ``timescaledb`` the extension is created
and the time-series tables are made hypertables (guarded, so a second run changes nothing, and
``migrate_data`` converts tables a plain-PostgreSQL start has already filled).  If the extension is
missing or cannot be created (not preloaded, no privilege) the same tables stay plain.  Then the steps
of that mode (:mod:`hub.store.timescale`: compression, retention, the per-minute device status) are
applied and recorded like migrations; one of them runs after the commit because TimescaleDB refuses it
inside a transaction block.

A numbered migration that changes a time-series table must also work once its chunks are compressed:
adding a column (nullable or with a default) does; changing a column's type does not.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from importlib import resources

import psycopg

from hub.store import timescale
from hub.store.connection import Connection, mapped_errors
from hub.store.records import StorageInfo

log = logging.getLogger("sitewatch.hub.store")

TIME_SERIES_TABLES = ("heartbeats", "device_states", "events")
CHUNK_INTERVAL = "1 day"
# Arbitrary but fixed: every hub process must contend for the same key.
MIGRATION_LOCK_KEY = 0x5357_0001

_FILE_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def discover() -> list[Migration]:
    found: dict[int, Migration] = {}
    for entry in (resources.files("hub.store") / "migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        version = int(match.group(1))
        if version in found:
            raise RuntimeError(f"two migrations numbered {version:03d}: {found[version].name}, {match.group(2)}")
        found[version] = Migration(version, match.group(2), entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


def migrate(conn: Connection, *, use_timescaledb: bool = True) -> tuple[list[Migration], StorageInfo]:
    """Bring the schema up to date; returns the numbered migrations applied now and the storage mode in use.

    ``conn`` must be in autocommit mode (as :func:`hub.store.connect` opens it).  ``use_timescaledb=False``
    keeps plain tables even where the server offers the extension; it cannot undo an extension already
    installed in the database.
    """
    applied: list[Migration] = []
    with mapped_errors("migration failed"), conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
        for migration in discover():
            if migration.version in done:
                continue
            # bytes: the SQL comes from a file (not a literal), and several statements need the simple protocol
            conn.execute(migration.sql.encode("utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)", (migration.version, migration.name)
            )
            log.info("schema: applied migration %03d_%s", migration.version, migration.name)
            applied.append(migration)
        storage = _ensure_storage(conn, use_timescaledb)
        for step in timescale.steps_for(storage.mode):
            if step.version not in done:
                conn.execute(step.sql)
                _record(conn, step.version, step.name)
                log.info("schema: applied %s", step.name)
    if storage.mode == "timescaledb":
        _fill_history(conn)
    log.info("schema: %s: %s", storage.describe(), timescale.describe(storage.mode))
    return applied, storage


def _record(conn: Connection, version: int, name: str) -> None:
    conn.execute(
        "INSERT INTO schema_migrations (version, name) VALUES (%s, %s) ON CONFLICT (version) DO NOTHING",
        (version, name),
    )


def _fill_history(conn: Connection) -> None:
    """Materialize the readings stored before the continuous aggregate existed; once, outside a transaction.

    Not under the migration lock: two hubs starting together may both run it, and refreshing the same window
    twice leaves the same result.  A failure is not fatal (the refresh policy covers recent minutes, and the
    next start tries again).
    """
    step = timescale.HISTORY
    with mapped_errors("checking the schema failed"):
        done = conn.execute("SELECT 1 FROM schema_migrations WHERE version = %s", (step.version,)).fetchone()
    if done is not None:
        return
    try:
        conn.execute(step.sql)
        _record(conn, step.version, step.name)
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        log.warning("schema: %s failed (%s); the next start tries again", step.name, reason)
        return
    log.info("schema: applied %s", step.name)


def _timescale_version(conn: Connection) -> str | None:
    row = conn.execute("SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    return None if row is None else str(row[0])


def _ensure_storage(conn: Connection, use_timescaledb: bool) -> StorageInfo:
    version = _timescale_version(conn)
    if version is None and not use_timescaledb:
        return StorageInfo("postgresql", note="timescaledb not wanted")
    if version is None:
        offered = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'").fetchone()
        if offered is None:
            return StorageInfo("postgresql")
        try:
            with conn.transaction():  # a savepoint: a refusal must not abort the migration
                conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        except psycopg.Error as exc:
            reason = str(exc).strip().splitlines()[0]
            log.warning("timescaledb is offered but CREATE EXTENSION failed (%s); using plain tables", reason)
            return StorageInfo("postgresql", note=f"timescaledb offered but not usable: {reason}")
        version = _timescale_version(conn)
    for table in TIME_SERIES_TABLES:
        is_hypertable = conn.execute(
            "SELECT 1 FROM timescaledb_information.hypertables"
            " WHERE hypertable_schema = current_schema() AND hypertable_name = %s",
            (table,),
        ).fetchone()
        if is_hypertable is None:
            conn.execute(
                # No default index on time: the indexes are the migrations' own, the same on both modes.
                "SELECT create_hypertable(%s::regclass, by_range('time', %s::interval),"
                " create_default_indexes => FALSE, if_not_exists => TRUE, migrate_data => TRUE)",
                (table, CHUNK_INTERVAL),
            )
            log.info("schema: %s is now a hypertable (chunks of %s)", table, CHUNK_INTERVAL)
    return StorageInfo("timescaledb", version=version)
