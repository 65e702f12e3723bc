"""Reads for the dashboard, the API and tests: plain records out, no psycopg types."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, LiteralString

from hub.store.connection import Connection, mapped_errors
from hub.store.records import AgentRow, AlertRow, DeviceRow, SitesSnapshot

AlertState = Literal["open", "all"]


def ping(conn: Connection) -> None:
    with mapped_errors("database ping failed"):
        conn.execute("SELECT 1").fetchone()


def sites_snapshot(conn: Connection) -> SitesSnapshot:
    """Every agent with its devices, and open alerts counted per site, from one consistent snapshot."""
    with mapped_errors("reading sites failed"), conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        agent_rows = conn.execute(
            "SELECT agent_id, city, site, name, boot, started_at, sw_version, online, offline_reason, last_seen"
            " FROM agents ORDER BY city, site, agent_id"
        ).fetchall()
        device_rows = conn.execute(
            "SELECT agent_id, device_id, kind, driver, room, label, status, details, updated_at, identity"
            " FROM devices ORDER BY agent_id, kind, device_id"
        ).fetchall()
        alert_rows = conn.execute(
            "SELECT city, site, count(*) FROM alerts WHERE closed_at IS NULL GROUP BY city, site"
        ).fetchall()
    devices: dict[str, list[DeviceRow]] = defaultdict(list)
    for agent_id, device_id, kind, driver, room, label, status, details, updated_at, identity in device_rows:
        devices[agent_id].append(
            DeviceRow(device_id, kind, driver, room, label, status, dict(details), updated_at, identity)
        )
    agents = tuple(
        AgentRow(agent_id, city, site, name, boot, started, sw, online, reason, seen, tuple(devices.get(agent_id, ())))
        for agent_id, city, site, name, boot, started, sw, online, reason, seen in agent_rows
    )
    return SitesSnapshot(agents=agents, open_alerts={(city, site): int(n) for city, site, n in alert_rows})


_ALERTS: dict[AlertState, LiteralString] = {
    "open": "SELECT id, fingerprint, kind, severity, city, site, agent_id, device_id, summary, details, opened_at,"
    " closed_at FROM alerts WHERE closed_at IS NULL ORDER BY opened_at DESC, id DESC LIMIT %s",
    "all": "SELECT id, fingerprint, kind, severity, city, site, agent_id, device_id, summary, details, opened_at,"
    " closed_at FROM alerts ORDER BY opened_at DESC, id DESC LIMIT %s",
}


def list_alerts(conn: Connection, state: AlertState = "open", limit: int = 500) -> list[AlertRow]:
    """Newest first; ``open`` is what the duty desk must act on, ``all`` includes closed history."""
    with mapped_errors("reading alerts failed"):
        rows = conn.execute(_ALERTS[state], (limit,)).fetchall()
    return [AlertRow(*row) for row in rows]


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    id: int
    received_at: datetime
    topic: str
    payload: bytes
    error_code: str
    reason: str


def list_quarantine(conn: Connection, limit: int = 100) -> list[QuarantineRow]:
    with mapped_errors("reading quarantine failed"):
        rows = conn.execute(
            "SELECT id, received_at, topic, payload, error_code, reason FROM quarantine ORDER BY id DESC LIMIT %s",
            (limit,),
        ).fetchall()
    return [QuarantineRow(int(i), r, t, bytes(p), c, reason) for i, r, t, p, c, reason in rows]


CountedTable = Literal["heartbeats", "device_states", "events", "quarantine", "alerts"]
_COUNTS: dict[CountedTable, LiteralString] = {
    "heartbeats": "SELECT count(*) FROM heartbeats",
    "device_states": "SELECT count(*) FROM device_states",
    "events": "SELECT count(*) FROM events",
    "quarantine": "SELECT count(*) FROM quarantine",
    "alerts": "SELECT count(*) FROM alerts",
}


TimeSeriesTable = Literal["heartbeats", "device_states", "events"]
_COUNTS_FOR_AGENT: dict[TimeSeriesTable, LiteralString] = {
    "heartbeats": "SELECT count(*) FROM heartbeats WHERE agent_id = %s",
    "device_states": "SELECT count(*) FROM device_states WHERE agent_id = %s",
    "events": "SELECT count(*) FROM events WHERE agent_id = %s",
}


def count_rows(conn: Connection, table: CountedTable) -> int:
    with mapped_errors("counting rows failed"):
        row = conn.execute(_COUNTS[table]).fetchone()
    return 0 if row is None else int(row[0])


def count_agent_rows(conn: Connection, table: TimeSeriesTable, agent_id: str) -> int:
    with mapped_errors("counting rows failed"):
        row = conn.execute(_COUNTS_FOR_AGENT[table], (agent_id,)).fetchone()
    return 0 if row is None else int(row[0])
