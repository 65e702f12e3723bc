"""The audit log: sign-ins, refused requests and every action taken on the dashboard (rule R3)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.store.connection import Connection, mapped_errors


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    action: str
    outcome: str
    user_id: int | None = None
    username: str = ""
    target: str = ""
    client: str = ""
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    user_id: int | None
    username: str
    action: str
    outcome: str
    target: str
    client: str
    details: dict[str, Any]


def record(conn: Connection, entry: AuditEntry) -> None:
    with mapped_errors("writing the audit log failed"):
        conn.execute(
            "INSERT INTO audit_log (at, user_id, username, action, outcome, target, client, details)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb)",
            (
                entry.at,
                entry.user_id,
                entry.username,
                entry.action,
                entry.outcome,
                entry.target,
                entry.client,
                json.dumps(entry.details, ensure_ascii=False),
            ),
        )


def list_entries(conn: Connection, limit: int = 200, before_id: int | None = None) -> list[AuditRow]:
    """Newest first; ``before_id`` pages further back."""
    with mapped_errors("reading the audit log failed"):
        rows = conn.execute(
            "SELECT id, at, user_id, username, action, outcome, target, client, details FROM audit_log"
            " WHERE %s::bigint IS NULL OR id < %s ORDER BY id DESC LIMIT %s",
            (before_id, before_id, limit),
        ).fetchall()
    return [AuditRow(int(i), at, uid, u, a, o, t, c, dict(d)) for i, at, uid, u, a, o, t, c, d in rows]
