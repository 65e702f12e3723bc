"""Current state of agents: their liveness row, their sessions (one per boot) and their devices."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from datetime import datetime

import msgspec

from hub.inventory import Replaced, replaced
from hub.liveness import AgentLiveness
from hub.store.connection import Connection
from hub.store.timeseries import details_json
from protocol.messages import Birth, Death, DeviceState
from protocol.topics import AgentPath

log = logging.getLogger("sitewatch.hub.store.agents")


def ensure_agents(conn: Connection, agent_ids: Sequence[str], now: datetime) -> None:
    paths = [AgentPath.from_agent_id(a) for a in agent_ids]
    conn.execute(
        "INSERT INTO agents (agent_id, city, site, name, updated_at)"
        " SELECT a, c, s, n, %s FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS u(a, c, s, n)"
        " ON CONFLICT (agent_id) DO NOTHING",
        (now, [p.agent_id for p in paths], [p.city for p in paths], [p.site for p in paths], [p.agent for p in paths]),
    )


def _liveness(row: tuple[object, ...]) -> AgentLiveness:
    agent_id, boot, started_at, online, offline_reason, last_seen = row
    return AgentLiveness(
        agent_id=str(agent_id),
        boot=None if boot is None else str(boot),
        started_at=started_at if isinstance(started_at, datetime) else None,
        online=bool(online),
        offline_reason=None if offline_reason is None else str(offline_reason),
        last_seen=last_seen if isinstance(last_seen, datetime) else None,
    )


def lock_liveness(conn: Connection, agent_ids: Sequence[str]) -> dict[str, AgentLiveness]:
    """Row-lock the agents (in id order, so concurrent hubs cannot deadlock) and read their liveness."""
    # %b (here and in the writer's other per-batch statements): lists go as binary arrays; in text
    # psycopg quotes them element by element, which cost the writer ~0.6 ms per 100-element statement.
    rows = conn.execute(
        "SELECT agent_id, boot, started_at, online, offline_reason, last_seen"
        " FROM agents WHERE agent_id = ANY(%b) ORDER BY agent_id FOR UPDATE",
        (list(agent_ids),),
    ).fetchall()
    return {str(row[0]): _liveness(row) for row in rows}


def lock_stale(conn: Connection, seen_before: datetime) -> list[AgentLiveness]:
    """Online agents not heard from since ``seen_before``; rows another transaction holds are left for later."""
    rows = conn.execute(
        "SELECT agent_id, boot, started_at, online, offline_reason, last_seen"
        " FROM agents WHERE online AND last_seen < %s ORDER BY agent_id FOR UPDATE SKIP LOCKED",
        (seen_before,),
    ).fetchall()
    return [_liveness(row) for row in rows]


def save_liveness(conn: Connection, states: Iterable[AgentLiveness], now: datetime) -> None:
    states = list(states)
    if not states:
        return
    conn.execute(
        "UPDATE agents SET boot = u.boot, started_at = u.started_at, online = u.online,"
        " offline_reason = u.offline_reason, last_seen = u.last_seen, updated_at = %s"
        " FROM unnest(%b::text[], %b::text[], %b::timestamptz[], %b::boolean[], %b::text[], %b::timestamptz[])"
        " AS u(agent_id, boot, started_at, online, offline_reason, last_seen)"
        " WHERE agents.agent_id = u.agent_id",
        (
            now,
            [s.agent_id for s in states],
            [s.boot for s in states],
            [s.started_at for s in states],
            [s.online for s in states],
            [s.offline_reason for s in states],
            [s.last_seen for s in states],
        ),
    )


def record_session(conn: Connection, birth: Birth, received_at: datetime) -> bool:
    """Remember a birth and its session; False when this boot was already recorded (a redelivery, or a
    fresh birth of the same boot after an inventory change)."""
    # Every birth, keyed like any message: a fresh birth holds a seq the gap finder must see delivered.
    conn.execute(
        "INSERT INTO agent_births (agent_id, boot, seq, born_at, received_at, devices)"
        " VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
        (
            birth.agent,
            birth.boot,
            birth.seq,
            birth.ts,
            received_at,
            json.dumps(msgspec.to_builtins(birth.devices), ensure_ascii=False),
        ),
    )
    row = conn.execute(
        "INSERT INTO agent_sessions (agent_id, boot, birth_seq, started_at, born_at, birth_received_at,"
        " sw_version, heartbeat_s, device_count) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"
        " ON CONFLICT (agent_id, boot) DO NOTHING RETURNING 1",
        (
            birth.agent,
            birth.boot,
            birth.seq,
            birth.started_at,
            birth.ts,
            received_at,
            birth.sw_version,
            birth.heartbeat_s,
            len(birth.devices),
        ),
    ).fetchone()
    return row is not None


def end_session(conn: Connection, death: Death) -> None:
    conn.execute(
        "UPDATE agent_sessions SET ended_at = %s, end_reason = %s"
        " WHERE agent_id = %s AND boot = %s AND ended_at IS NULL",
        (death.ts, death.reason, death.agent, death.boot),
    )


def adopt_birth(conn: Connection, birth: Birth) -> list[Replaced]:
    """Make a birth's session details and device inventory the agent's current ones; returns the devices
    whose hardware identity changed (a reader swapped for another), which are also logged.

    Devices kept from the previous session keep their last status (no flash of grey on restart);
    devices the new inventory no longer lists are removed; new ones start ``unknown`` with no status
    time, so the first reading wins whatever its timestamp.  An identity not (yet) known keeps the last
    one stored.  A birth of the current boot older than the one adopted (an earlier birth replayed after
    a fresh one) changes nothing.
    """
    current = conn.execute(
        "UPDATE agents SET birth_seq = %(seq)s, sw_version = %(sw)s, heartbeat_s = %(hb)s WHERE agent_id = %(a)s"
        " AND (boot IS DISTINCT FROM %(boot)s OR birth_seq IS NULL OR birth_seq <= %(seq)s) RETURNING 1",
        {"seq": birth.seq, "sw": birth.sw_version, "hb": birth.heartbeat_s, "a": birth.agent, "boot": birth.boot},
    ).fetchone()
    if current is None:
        return []
    ids = [d.id for d in birth.devices]
    conn.execute("DELETE FROM devices WHERE agent_id = %s AND NOT (device_id = ANY(%s))", (birth.agent, ids))
    if not ids:
        return []
    known = conn.execute(
        "SELECT device_id, identity FROM devices WHERE agent_id = %s AND identity IS NOT NULL", (birth.agent,)
    ).fetchall()
    swapped = replaced(birth.agent, {str(d): str(i) for d, i in known}, birth.devices)
    for change in swapped:
        log.info("%s", change.describe())
    conn.execute(
        "INSERT INTO devices (agent_id, device_id, kind, driver, room, label, identity)"
        " SELECT %s, d, k, dr, r, l, i FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::text[],"
        " %s::text[]) AS u(d, k, dr, r, l, i)"
        " ON CONFLICT (agent_id, device_id) DO UPDATE SET kind = EXCLUDED.kind, driver = EXCLUDED.driver,"
        " room = EXCLUDED.room, label = EXCLUDED.label, identity = COALESCE(EXCLUDED.identity, devices.identity)",
        (
            birth.agent,
            ids,
            [d.kind for d in birth.devices],
            [d.driver for d in birth.devices],
            [d.room for d in birth.devices],
            [d.label for d in birth.devices],
            [d.identity for d in birth.devices],
        ),
    )
    return swapped


def update_device_status(conn: Connection, readings: Sequence[tuple[str, DeviceState, datetime]]) -> None:
    """Apply (agent, state, device time) readings; an older reading never overwrites a newer one."""
    latest: dict[tuple[str, str], tuple[str, DeviceState, datetime]] = {}
    for agent, state, ts in readings:
        key = (agent, state.id)
        if key not in latest or latest[key][2] <= ts:
            latest[key] = (agent, state, ts)
    if not latest:
        return
    rows = list(latest.values())
    conn.execute(
        "INSERT INTO devices (agent_id, device_id, kind, status, details, updated_at)"
        " SELECT a, d, k, s, det::jsonb, t FROM unnest(%b::text[], %b::text[], %b::text[], %b::text[],"
        " %b::text[], %b::timestamptz[]) AS u(a, d, k, s, det, t)"
        " ON CONFLICT (agent_id, device_id) DO UPDATE SET kind = EXCLUDED.kind, status = EXCLUDED.status,"
        " details = EXCLUDED.details, updated_at = EXCLUDED.updated_at"
        " WHERE devices.updated_at IS NULL OR devices.updated_at <= EXCLUDED.updated_at",
        (
            [a for a, _, _ in rows],
            [s.id for _, s, _ in rows],
            [s.kind for _, s, _ in rows],
            [s.status for _, s, _ in rows],
            [details_json(s.details) for _, s, _ in rows],
            [t for _, _, t in rows],
        ),
    )
