"""Alert rows: opened and closed by liveness transitions, at most one open per fingerprint."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from hub.liveness import Transition, WentOffline
from hub.store.connection import Connection
from protocol.topics import AgentPath

AGENT_OFFLINE = "agent_offline"


def agent_offline_fingerprint(agent_id: str) -> str:
    return f"{AGENT_OFFLINE}:{agent_id}"


def open_alert(
    conn: Connection,
    *,
    fingerprint: str,
    kind: str,
    severity: str,
    agent_id: str,
    summary: str,
    details: dict[str, object],
    opened_at: datetime,
    device_id: str | None = None,
) -> bool:
    """Open an alert unless one with this fingerprint is already open; True when a row was added."""
    path = AgentPath.from_agent_id(agent_id)
    row = conn.execute(
        "INSERT INTO alerts (fingerprint, kind, severity, city, site, agent_id, device_id, summary, details, opened_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s)"
        " ON CONFLICT (fingerprint) WHERE closed_at IS NULL DO NOTHING RETURNING id",
        (
            fingerprint,
            kind,
            severity,
            path.city,
            path.site,
            agent_id,
            device_id,
            summary,
            json.dumps(details),
            opened_at,
        ),
    ).fetchone()
    return row is not None


def close_alert(conn: Connection, fingerprint: str, closed_at: datetime) -> bool:
    row = conn.execute(
        "UPDATE alerts SET closed_at = %s WHERE fingerprint = %s AND closed_at IS NULL RETURNING id",
        (closed_at, fingerprint),
    ).fetchone()
    return row is not None


def apply_transitions(conn: Connection, transitions: Iterable[Transition]) -> None:
    """An agent that went offline gets an open ``agent_offline`` alert; coming back closes it."""
    for t in transitions:
        fingerprint = agent_offline_fingerprint(t.agent_id)
        if isinstance(t, WentOffline):
            open_alert(
                conn,
                fingerprint=fingerprint,
                kind=AGENT_OFFLINE,
                # A deliberate shutdown still leaves the site unwatched, but someone chose it.
                severity="warning" if t.reason == "shutdown" else "critical",
                agent_id=t.agent_id,
                summary=f"agent {t.agent_id} offline ({t.reason})",
                details={
                    "reason": t.reason,
                    "boot": t.boot,
                    "last_seen": None if t.last_seen is None else t.last_seen.isoformat(),
                },
                opened_at=t.at,
            )
        else:
            close_alert(conn, fingerprint, t.at)
