"""The notification outbox, as the senders see it: lease due rows, record each attempt's outcome.

A claimed row is *leased*, not locked: its ``due_at`` moves ``lease_s`` ahead in a short transaction, the
delivery happens outside any transaction, and the outcome is written after.  A hub that dies mid-delivery
leaves the row to come due again; the receiver's idempotency key makes the repeat harmless.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.store import audit_log
from hub.store.audit_log import AuditEntry
from hub.store.connection import Connection, mapped_errors


@dataclass(frozen=True, slots=True)
class Queued:
    id: int
    key: str
    alert_id: int
    target: str
    event: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int  # including the one this lease is for


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the outbox, for the dashboard (deliveries of an alert) and tests."""

    id: int
    key: str
    alert_id: int
    target: str
    event: str
    created_at: datetime
    attempts: int
    last_error: str | None
    delivered_at: datetime | None
    receipt: dict[str, Any] | None
    failed_at: datetime | None


def claim(conn: Connection, target: str, now: datetime, *, lease_s: float, limit: int = 20) -> list[Queued]:
    with mapped_errors("claiming notifications failed"), conn.transaction():
        rows = conn.execute(
            "UPDATE notifications SET due_at = %(lease)s, attempts = attempts + 1, last_attempt_at = %(now)s"
            " WHERE id IN (SELECT id FROM notifications WHERE target = %(target)s AND delivered_at IS NULL"
            " AND failed_at IS NULL AND due_at <= %(now)s ORDER BY due_at, id LIMIT %(limit)s"
            " FOR UPDATE SKIP LOCKED)"
            " RETURNING id, key, alert_id, target, event, payload, created_at, attempts",
            {"lease": now + timedelta(seconds=lease_s), "now": now, "target": target, "limit": limit},
        ).fetchall()
    rows.sort(key=lambda r: r[0])
    return [Queued(int(r[0]), str(r[1]), int(r[2]), r[3], r[4], dict(r[5]), r[6], int(r[7])) for r in rows]


def delivered(conn: Connection, q: Queued, receipt: dict[str, Any], now: datetime) -> None:
    with mapped_errors("recording a delivery failed"), conn.transaction():
        conn.execute(
            "UPDATE notifications SET delivered_at = %s, receipt = %s::jsonb, last_error = NULL WHERE id = %s",
            (now, json.dumps(receipt, default=str), q.id),
        )
        audit_log.record(conn, _entry(q, now, "ok", receipt=receipt))


def failed(conn: Connection, q: Queued, error: str, now: datetime, *, retry_at: datetime | None) -> None:
    """A failed attempt: retried at ``retry_at``, or given up (None)."""
    with mapped_errors("recording a delivery failure failed"), conn.transaction():
        if retry_at is None:
            conn.execute(
                "UPDATE notifications SET failed_at = %s, last_error = %s WHERE id = %s", (now, error[:2000], q.id)
            )
            audit_log.record(conn, _entry(q, now, "failed", error=error[:500]))
        else:
            conn.execute(
                "UPDATE notifications SET due_at = %s, last_error = %s WHERE id = %s", (retry_at, error[:2000], q.id)
            )


def _entry(q: Queued, now: datetime, outcome: str, **details: Any) -> AuditEntry:
    return AuditEntry(
        at=now,
        action="notify.deliver",
        outcome=outcome,
        username="sitewatch",
        target=f"alert {q.alert_id}",
        details={"to": q.target, "event": q.event, "key": q.key, "attempts": q.attempts, **details},
    )


def next_due(conn: Connection, target: str) -> datetime | None:
    with mapped_errors("reading the outbox failed"):
        row = conn.execute(
            "SELECT min(due_at) FROM notifications WHERE target = %s AND delivered_at IS NULL AND failed_at IS NULL",
            (target,),
        ).fetchone()
    return None if row is None else row[0]


def deliveries(conn: Connection, alert_id: int) -> list[Delivery]:
    with mapped_errors("reading deliveries failed"):
        rows = conn.execute(
            "SELECT id, key, alert_id, target, event, created_at, attempts, last_error, delivered_at, receipt,"
            " failed_at FROM notifications WHERE alert_id = %s ORDER BY id",
            (alert_id,),
        ).fetchall()
    return [
        Delivery(
            int(r[0]),
            str(r[1]),
            int(r[2]),
            r[3],
            r[4],
            r[5],
            int(r[6]),
            r[7],
            r[8],
            None if r[9] is None else dict(r[9]),
            r[10],
        )
        for r in rows
    ]
