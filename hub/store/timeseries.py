"""Appending heartbeats, device states, events and snapshots: idempotent, one binary COPY per table.

COPY cannot skip duplicates, and the obvious way around it — COPY into a staging table, then
``INSERT … SELECT … ON CONFLICT DO NOTHING`` — costs a second write of every row plus a speculative
insertion per row (bench/ingest.py measured it at 1.5× a bare COPY).  Instead, the caller holds the
row locks of every agent in the batch (:func:`hub.store.agents.lock_liveness`, in the same
transaction), and then:

1. one probe per table reads which of the batch's (agent, boot, seq, time) keys are already stored,
   by a bounded index range per (agent, boot);
2. the rows that are new — and, within the batch, only the first copy of a message — are COPYed
   straight into the table.

Correct under concurrency because every writer of these tables takes the agent's row lock before its
probe, and under READ COMMITTED each statement sees what was committed before it started: a second
hub storing the same message waits for the first one's commit, then finds its rows.  The unique
indexes stay the last word: a row that slipped past (a writer that does not lock) fails the COPY
with a unique violation, which the writer treats as refused content and stores message by message.
A message stored twice is still stored once — also into a compressed TimescaleDB chunk after a long
outage, where the probe reads through compression and the COPY goes through TimescaleDB's insert path.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from operator import itemgetter
from typing import Any

from psycopg.types.json import Jsonb

from hub.errors import StoreError
from hub.store.connection import Connection
from hub.store.records import Accepted
from protocol.messages import Event, Heartbeat, Snapshot, State

MessageKey = tuple[str, str, int]
Row = tuple[Any, ...]
# What a table's unique index holds: (agent, boot, seq, time) plus, for device states, the device.
RowKey = tuple[Any, ...]

_COMMON = ("time", "received_at", "agent_id", "boot", "seq", "historical")
_COMMON_TYPES = ("timestamptz", "timestamptz", "text", "text", "int8", "bool")
_TIME, _AGENT, _BOOT, _SEQ = 0, 2, 3, 4


def details_json(details: dict[str, str | int | float | bool | None]) -> str:
    return json.dumps(details, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Table:
    """A time-series table as the writer fills it; rows start with :data:`_COMMON`."""

    name: str
    columns: tuple[str, ...]
    types: tuple[str, ...]
    # Positions of key columns past (agent, boot, seq, time), e.g. the device of a device state.
    extra_key: tuple[int, ...] = ()
    key: Callable[[Row], RowKey] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # itemgetter: this runs once per row of every batch, and a generator here showed in profiles.
        object.__setattr__(self, "key", itemgetter(_AGENT, _BOOT, _SEQ, _TIME, *self.extra_key))


HEARTBEATS = Table(
    "heartbeats",
    (*_COMMON, "uptime_s", "outbox_depth", "outbox_oldest_s", "calendar_version", "outbox_capacity"),
    (*_COMMON_TYPES, "float8", "int4", "float8", "text", "int4"),
)
DEVICE_STATES = Table(
    "device_states",
    (*_COMMON, "device_id", "kind", "status", "details"),
    (*_COMMON_TYPES, "text", "text", "text", "jsonb"),
    extra_key=(6,),
)
EVENTS = Table(
    "events",
    (*_COMMON, "name", "severity", "device_id", "details"),
    (*_COMMON_TYPES, "text", "text", "text", "jsonb"),
)
SNAPSHOTS = Table(
    "snapshots",
    (*_COMMON, "device_id", "sha256", "content_type", "width", "height", "data"),
    (*_COMMON_TYPES, "text", "text", "text", "int4", "int4", "bytea"),
)
TABLES = (HEARTBEATS, DEVICE_STATES, EVENTS, SNAPSHOTS)
_SERIES = (Heartbeat, State, Event, Snapshot)
_MESSAGE_KEY = itemgetter(_AGENT, _BOOT, _SEQ)


def _snapshot_row(item: Accepted, m: Snapshot) -> Row:
    try:
        jpeg = base64.b64decode(m.data, validate=True)
    except ValueError as exc:  # the wire contract checks it; never let a bad one stop the writer
        raise StoreError(f"snapshot {m.sha256[:12]} is not base64: {exc}") from exc
    head = (m.ts, item.received_at, m.agent, m.boot, m.seq, m.historical)
    return (*head, m.device, m.sha256, m.content_type, m.width, m.height, jpeg)


def table_rows(items: Iterable[Accepted]) -> dict[Table, list[Row]]:
    """The rows each table receives for these messages, in arrival order (tables without rows left out)."""
    out: dict[Table, list[Row]] = {}
    for item in items:
        m = item.message
        if isinstance(m, Heartbeat):
            row = (m.ts, item.received_at, m.agent, m.boot, m.seq, m.historical)
            out.setdefault(HEARTBEATS, []).append(
                (*row, m.uptime_s, m.outbox_depth, m.outbox_oldest_s, m.calendar_version, m.outbox_capacity)
            )
        elif isinstance(m, State):
            rows = out.setdefault(DEVICE_STATES, [])
            for d in m.devices:
                row = (m.ts, item.received_at, m.agent, m.boot, m.seq, m.historical)
                rows.append((*row, d.id, d.kind, d.status, Jsonb(d.details)))
        elif isinstance(m, Event):
            row = (m.ts, item.received_at, m.agent, m.boot, m.seq, m.historical)
            out.setdefault(EVENTS, []).append((*row, m.name, m.severity, m.device, Jsonb(m.details)))
        elif isinstance(m, Snapshot):
            out.setdefault(SNAPSHOTS, []).append(_snapshot_row(item, m))
    return out


@dataclass(frozen=True, slots=True)
class Span:
    """The seqs one (agent, boot) covers in a batch: one short range of each table's unique index."""

    agent: str
    boot: str
    first_seq: int
    last_seq: int


@dataclass(frozen=True, slots=True)
class Probe:
    """What to read back before copying: the batch's spans and the time range its messages cover."""

    spans: tuple[Span, ...]
    first_time: datetime
    last_time: datetime


def probe_for(items: Iterable[Accepted]) -> Probe | None:
    """The spans of the time-series messages in first-seen order (births and deaths have none); None: none."""
    bounds: dict[tuple[str, str], list[int]] = {}
    first = last = None
    for item in items:
        m = item.message
        if not isinstance(m, _SERIES):
            continue
        seq, ts = m.seq, m.ts
        if first is None or ts < first:
            first = ts
        if last is None or ts > last:
            last = ts
        b = bounds.get((m.agent, m.boot))
        if b is None:
            bounds[(m.agent, m.boot)] = [seq, seq]
        elif seq < b[0]:
            b[0] = seq
        elif seq > b[1]:
            b[1] = seq
    if first is None or last is None:
        return None
    return Probe(tuple(Span(agent, boot, lo, hi) for (agent, boot), (lo, hi) in bounds.items()), first, last)


def fresh_rows(table: Table, rows: Sequence[Row], stored: set[RowKey]) -> tuple[list[Row], set[MessageKey]]:
    """The rows to copy — not stored yet, and the first of each key in the batch — and their messages' keys."""
    seen = set(stored)
    out: list[Row] = []
    key = table.key
    for row in rows:
        k = key(row)
        if k not in seen:
            seen.add(k)
            out.append(row)
    return out, set(map(_MESSAGE_KEY, out))


def _probe_sql(tables: Sequence[Table]) -> str:
    """One statement probing every table: (table index, agent, boot, seq, time, extra key column or NULL)."""
    parts = []
    for n, table in enumerate(tables):
        extra = f"s.{table.columns[table.extra_key[0]]}" if table.extra_key else "NULL::text"
        # A lateral subquery per span: OFFSET 0 keeps the planner from flattening it into a hash join
        # that scans the whole time range of the batch in a growing table; each span becomes one short
        # range of the unique index.  The batch-wide time bounds are constants, so TimescaleDB excludes
        # at plan time the chunks the batch cannot touch.
        parts.append(
            f"SELECT {n}, s.* FROM u CROSS JOIN LATERAL (SELECT s.agent_id, s.boot, s.seq, s.time, {extra}"  # noqa: S608  # names are constants
            f" FROM {table.name} s"
            " WHERE s.agent_id = u.agent_id AND s.boot = u.boot AND s.seq BETWEEN u.lo AND u.hi"
            " AND s.time BETWEEN %(t0)s AND %(t1)s OFFSET 0) s"
        )
    # The spans travel as one JSON document: psycopg adapts Python lists to arrays element by element,
    # which cost more than the probe itself.
    union = "\nUNION ALL\n".join(parts)
    return (
        "WITH u AS MATERIALIZED (SELECT * FROM jsonb_to_recordset(%(spans)s::jsonb)"  # noqa: S608  # names are constants
        f" AS u(agent_id text, boot text, lo int8, hi int8))\n{union}"
    )


def _probe_params(probe: Probe) -> dict[str, Any]:
    doc = [{"agent_id": s.agent, "boot": s.boot, "lo": s.first_seq, "hi": s.last_seq} for s in probe.spans]
    return {"spans": json.dumps(doc, separators=(",", ":")), "t0": probe.first_time, "t1": probe.last_time}


def _copy(conn: Connection, table: Table, rows: Sequence[Row]) -> None:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table.name} ({', '.join(table.columns)}) FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(list(table.types))
        try:
            for row in rows:
                copy.write_row(row)
        except (OverflowError, ValueError) as exc:
            # A value the column type cannot hold is refused content, not an outage: the writer
            # then stores the batch message by message and quarantines the one that fails.
            raise StoreError(f"a {table.name} row does not fit its columns: {exc}") from exc


def insert_timeseries(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    """Store every heartbeat, state, event and snapshot; returns the keys of the messages not seen before.

    The caller must hold the row locks of the messages' agents in the current transaction.
    """
    probe = probe_for(items)
    by_table = table_rows(items)
    if probe is None or not by_table:
        return set()
    # One set of spans for every table: a span may then cover another table's seqs, but the index
    # range is as short, and one statement means one round trip and one set of parameters.
    tables = list(by_table)
    stored: dict[Table, set[RowKey]] = {table: set() for table in tables}
    for n, agent, boot, seq, time, extra in conn.execute(_probe_sql(tables), _probe_params(probe)):
        table = tables[n]
        stored[table].add((agent, boot, seq, time, extra) if table.extra_key else (agent, boot, seq, time))
    new: set[MessageKey] = set()
    for table, rows in by_table.items():
        fresh, keys = fresh_rows(table, rows, stored[table])
        if fresh:
            _copy(conn, table, fresh)
        new |= keys
    return new
