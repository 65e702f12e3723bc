"""Appending heartbeats, device states and events: idempotent, binary COPY per table per batch.

COPY cannot skip duplicates, so rows are copied into a per-connection staging table and moved with
one ``INSERT … SELECT … ON CONFLICT DO NOTHING``: a message delivered twice has the same (agent, boot,
seq, time) and hits the unique index, so it is stored once — also into a compressed TimescaleDB
chunk after a long outage — and ``RETURNING`` tells the caller which messages were new.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from psycopg.types.json import Jsonb

from hub.errors import StoreError
from hub.store.connection import Connection
from hub.store.records import Accepted
from protocol.messages import Event, Heartbeat, Snapshot, State

MessageKey = tuple[str, str, int]


def details_json(details: dict[str, str | int | float | bool | None]) -> str:
    return json.dumps(details, ensure_ascii=False, separators=(",", ":"))


def _keys(rows: Sequence[tuple[Any, ...]]) -> set[MessageKey]:
    return {(str(agent), str(boot), int(seq)) for agent, boot, seq in rows}


# Staging tables live per connection; ON COMMIT DELETE ROWS empties them with every batch.
_STAGE = "CREATE TEMP TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS"


def _copy_insert(
    conn: Connection, table: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[Sequence[Any]]
) -> set[MessageKey]:
    """Binary COPY into a staging table, then one idempotent INSERT … SELECT into the real one."""
    stage = f"_sw_stage_{table}"
    cols = ", ".join(columns)
    with conn.cursor() as cur:
        cur.execute(_STAGE.format(stage=stage, table=table))
        with cur.copy(f"COPY {stage} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(types))
            try:
                for row in rows:
                    copy.write_row(row)
            except (OverflowError, ValueError) as exc:
                # A value the column type cannot hold is refused content, not an outage: the writer
                # then stores the batch message by message and quarantines the one that fails.
                raise StoreError(f"a {table} row does not fit its columns: {exc}") from exc
        cur.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {stage}"  # noqa: S608  # names are constants
            " ON CONFLICT DO NOTHING RETURNING agent_id, boot, seq"
        )
        return _keys(cur.fetchall())


_COMMON = ("time", "received_at", "agent_id", "boot", "seq", "historical")
_COMMON_TYPES = ("timestamptz", "timestamptz", "text", "text", "int8", "bool")


def insert_heartbeats(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    rows = [
        (m.ts, i.received_at, m.agent, m.boot, m.seq, m.historical, m.uptime_s, m.outbox_depth, m.outbox_oldest_s)
        for i in items
        if isinstance(m := i.message, Heartbeat)
    ]
    if not rows:
        return set()
    columns = (*_COMMON, "uptime_s", "outbox_depth", "outbox_oldest_s")
    return _copy_insert(conn, "heartbeats", columns, (*_COMMON_TYPES, "float8", "int4", "float8"), rows)


def insert_device_states(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    rows = [
        (m.ts, i.received_at, m.agent, m.boot, m.seq, m.historical, d.id, d.kind, d.status, Jsonb(d.details))
        for i in items
        if isinstance(m := i.message, State)
        for d in m.devices
    ]
    if not rows:
        return set()
    columns = (*_COMMON, "device_id", "kind", "status", "details")
    return _copy_insert(conn, "device_states", columns, (*_COMMON_TYPES, "text", "text", "text", "jsonb"), rows)


def insert_events(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    rows = [
        (m.ts, i.received_at, m.agent, m.boot, m.seq, m.historical, m.name, m.severity, m.device, Jsonb(m.details))
        for i in items
        if isinstance(m := i.message, Event)
    ]
    if not rows:
        return set()
    columns = (*_COMMON, "name", "severity", "device_id", "details")
    return _copy_insert(conn, "events", columns, (*_COMMON_TYPES, "text", "text", "text", "jsonb"), rows)


def insert_snapshots(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    rows = []
    for i in items:
        if isinstance(m := i.message, Snapshot):
            try:
                jpeg = base64.b64decode(m.data, validate=True)
            except ValueError as exc:  # the wire contract checks it; never let a bad one stop the writer
                raise StoreError(f"snapshot {m.sha256[:12]} is not base64: {exc}") from exc
            rows.append(
                (
                    m.ts,
                    i.received_at,
                    m.agent,
                    m.boot,
                    m.seq,
                    m.historical,
                    m.device,
                    m.sha256,
                    m.content_type,
                    m.width,
                    m.height,
                    jpeg,
                )
            )
    if not rows:
        return set()
    columns = (*_COMMON, "device_id", "sha256", "content_type", "width", "height", "data")
    types = (*_COMMON_TYPES, "text", "text", "text", "int4", "int4", "bytea")
    return _copy_insert(conn, "snapshots", columns, types, rows)


def insert_timeseries(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    """Store every heartbeat, state, event and snapshot; returns the keys of the messages not seen before."""
    return (
        insert_heartbeats(conn, items)
        | insert_device_states(conn, items)
        | insert_events(conn, items)
        | insert_snapshots(conn, items)
    )
