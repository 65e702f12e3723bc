"""Appending heartbeats, device states and events: idempotent, one statement per table per batch.

Rows go in as parallel arrays through ``unnest`` rather than ``executemany`` or COPY: one round trip per
table, and it works on servers that cannot pipeline (the TimescaleDB test lane).  A message delivered
twice has the same (agent, boot, seq, time) and hits the unique index, so ``ON CONFLICT DO NOTHING``
stores it once; ``RETURNING`` tells the caller which messages were new.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hub.store.connection import Connection
from hub.store.records import Accepted
from protocol.messages import Event, Heartbeat, State

MessageKey = tuple[str, str, int]


def details_json(details: dict[str, str | int | float | bool | None]) -> str:
    return json.dumps(details, ensure_ascii=False, separators=(",", ":"))


def _keys(rows: Sequence[tuple[Any, ...]]) -> set[MessageKey]:
    return {(str(agent), str(boot), int(seq)) for agent, boot, seq in rows}


def insert_heartbeats(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    beats = [(i.message, i.received_at) for i in items if isinstance(i.message, Heartbeat)]
    if not beats:
        return set()
    rows = conn.execute(
        "INSERT INTO heartbeats"
        " (time, received_at, agent_id, boot, seq, historical, uptime_s, outbox_depth, outbox_oldest_s)"
        " SELECT * FROM unnest(%s::timestamptz[], %s::timestamptz[], %s::text[], %s::text[], %s::bigint[],"
        " %s::boolean[], %s::float8[], %s::integer[], %s::float8[])"
        " ON CONFLICT DO NOTHING RETURNING agent_id, boot, seq",
        (
            [m.ts for m, _ in beats],
            [r for _, r in beats],
            [m.agent for m, _ in beats],
            [m.boot for m, _ in beats],
            [m.seq for m, _ in beats],
            [m.historical for m, _ in beats],
            [m.uptime_s for m, _ in beats],
            [m.outbox_depth for m, _ in beats],
            [m.outbox_oldest_s for m, _ in beats],
        ),
    ).fetchall()
    return _keys(rows)


def insert_device_states(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    rows_in = [
        (i.message, i.received_at, device)
        for i in items
        if isinstance(i.message, State)
        for device in i.message.devices
    ]
    if not rows_in:
        return set()
    rows = conn.execute(
        "INSERT INTO device_states"
        " (time, received_at, agent_id, boot, seq, historical, device_id, kind, status, details)"
        " SELECT t, r, a, b, s, h, d, k, st, det::jsonb FROM unnest(%s::timestamptz[], %s::timestamptz[],"
        " %s::text[], %s::text[], %s::bigint[], %s::boolean[], %s::text[], %s::text[], %s::text[], %s::text[])"
        " AS u(t, r, a, b, s, h, d, k, st, det)"
        " ON CONFLICT DO NOTHING RETURNING agent_id, boot, seq",
        (
            [m.ts for m, _, _ in rows_in],
            [r for _, r, _ in rows_in],
            [m.agent for m, _, _ in rows_in],
            [m.boot for m, _, _ in rows_in],
            [m.seq for m, _, _ in rows_in],
            [m.historical for m, _, _ in rows_in],
            [d.id for _, _, d in rows_in],
            [d.kind for _, _, d in rows_in],
            [d.status for _, _, d in rows_in],
            [details_json(d.details) for _, _, d in rows_in],
        ),
    ).fetchall()
    return _keys(rows)


def insert_events(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    events = [(i.message, i.received_at) for i in items if isinstance(i.message, Event)]
    if not events:
        return set()
    rows = conn.execute(
        "INSERT INTO events (time, received_at, agent_id, boot, seq, historical, name, severity, device_id, details)"
        " SELECT t, r, a, b, s, h, n, sev, d, det::jsonb FROM unnest(%s::timestamptz[], %s::timestamptz[],"
        " %s::text[], %s::text[], %s::bigint[], %s::boolean[], %s::text[], %s::text[], %s::text[], %s::text[])"
        " AS u(t, r, a, b, s, h, n, sev, d, det)"
        " ON CONFLICT DO NOTHING RETURNING agent_id, boot, seq",
        (
            [m.ts for m, _ in events],
            [r for _, r in events],
            [m.agent for m, _ in events],
            [m.boot for m, _ in events],
            [m.seq for m, _ in events],
            [m.historical for m, _ in events],
            [m.name for m, _ in events],
            [m.severity for m, _ in events],
            [m.device for m, _ in events],
            [details_json(m.details) for m, _ in events],
        ),
    ).fetchall()
    return _keys(rows)


def insert_timeseries(conn: Connection, items: Sequence[Accepted]) -> set[MessageKey]:
    """Store every heartbeat, state and event; returns the keys of the messages not seen before."""
    return insert_heartbeats(conn, items) | insert_device_states(conn, items) | insert_events(conn, items)
