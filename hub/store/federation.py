"""What one hub receives from another (already authenticated by :mod:`hub.province.routes`).

* The province keeps a *mirror* of each alert a city hub escalates: a row of its own ``alerts`` table
  (``origin_hub``, ``origin_alert_id``), so its dashboard shows and acknowledges it like any other.  Each
  delivery carries the alert's snapshot and version; an older snapshot arriving late changes nothing.
* A city applies the province's acknowledgement to its own alert (``ack_source = 'remote'``, so it is
  not sent back).
* Every delivery is kept once per idempotency key: a retried one gets its first receipt back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.store import audit_log
from hub.store.audit_log import AuditEntry
from hub.store.connection import Connection, mapped_errors


@dataclass(frozen=True, slots=True)
class Receipt:
    id: int
    received_at: datetime
    alert_id: int | None
    duplicate: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "receipt": self.id,
            "received_at": self.received_at.isoformat(),
            "alert_id": self.alert_id,
            "duplicate": self.duplicate,
        }


def _ts(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(str(value))


def receive(
    conn: Connection,
    *,
    hub: str,
    key: str,
    event: str,
    sent_at: datetime | None,
    payload: dict[str, Any],
    now: datetime,
    role: str,
) -> Receipt:
    """Keep a delivery once and apply it: a mirror at the province, an acknowledgement at a city."""
    with mapped_errors("receiving a delivery failed"), conn.transaction():
        row = conn.execute(
            "INSERT INTO federation_inbox (hub, key, event, received_at, sent_at, payload)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT (hub, key) DO NOTHING RETURNING id",
            (hub, key, event, now, sent_at, json.dumps(payload)),
        ).fetchone()
        if row is None:
            first = conn.execute(
                "SELECT id, received_at, alert_id FROM federation_inbox WHERE hub = %s AND key = %s", (hub, key)
            ).fetchone()
            assert first is not None  # the conflict says it is there
            return Receipt(int(first[0]), first[1], first[2], duplicate=True)
        inbox_id = int(row[0])
        alert = payload["alert"]
        alert_id = _mirror(conn, hub, alert, now) if role == "province" else _remote_ack(conn, hub, alert, now)
        conn.execute("UPDATE federation_inbox SET alert_id = %s WHERE id = %s", (alert_id, inbox_id))
        audit_log.record(
            conn,
            AuditEntry(
                at=now,
                action="federation.receive",
                outcome="ok" if alert_id is not None else "ignored",
                username=hub,
                target="" if alert_id is None else f"alert {alert_id}",
                details={"from": hub, "event": event, "key": key, "origin_alert_id": alert.get("id")},
            ),
        )
        return Receipt(inbox_id, now, alert_id, duplicate=False)


def _mirror(conn: Connection, hub: str, a: dict[str, Any], now: datetime) -> int:
    found = conn.execute(
        "SELECT id, origin_version, generation, acknowledged_at FROM alerts"
        " WHERE origin_hub = %s AND origin_alert_id = %s FOR UPDATE",
        (hub, a["id"]),
    ).fetchone()
    acked_at = _ts(a.get("acknowledged_at"))
    acked_by = None if a.get("acknowledged_by") is None else f"{hub}:{a['acknowledged_by']}"
    closed_at = _ts(a.get("closed_at"))
    values = {
        "fingerprint": f"{hub}/{a['id']}",
        "kind": a["kind"],
        "severity": a["severity"],
        "city": a["city"],
        "site": a["site"],
        "agent_id": a["agent_id"],
        "device_id": a.get("device_id"),
        "summary": a["summary"],
        "details": json.dumps(a.get("details") or {}),
        "opened_at": _ts(a["opened_at"]),
        "fired_at": _ts(a.get("fired_at")) or _ts(a["opened_at"]),
        "closed_at": closed_at,
        "active": closed_at is None,
        "occurrences": int(a.get("occurrences") or 1),
        "generation": int(a.get("generation") or 1),
        "flapping": bool(a.get("flapping")),
        "hub": hub,
        "origin_id": int(a["id"]),
        "version": int(a.get("version") or 0),
        "acked_at": acked_at,
        "acked_by": acked_by,
        "ack_comment": a.get("ack_comment"),
    }
    if found is None:
        row = conn.execute(
            "INSERT INTO alerts (fingerprint, kind, severity, city, site, agent_id, device_id, summary, details,"
            " opened_at, fired_at, closed_at, active, occurrences, generation, flapping, origin_hub, origin_alert_id,"
            " origin_version, acknowledged_at, acknowledged_by, ack_comment, ack_source, ack_sent)"
            " VALUES (%(fingerprint)s, %(kind)s, %(severity)s, %(city)s, %(site)s, %(agent_id)s, %(device_id)s,"
            " %(summary)s, %(details)s::jsonb, %(opened_at)s, %(fired_at)s, %(closed_at)s, %(active)s,"
            " %(occurrences)s, %(generation)s, %(flapping)s, %(hub)s, %(origin_id)s, %(version)s, %(acked_at)s,"
            " %(acked_by)s, %(ack_comment)s, CASE WHEN %(acked_at)s::timestamptz IS NULL THEN NULL ELSE 'remote' END,"
            " false) RETURNING id",
            values,
        ).fetchone()
        assert row is not None
        return int(row[0])
    mirror_id, version, generation, mirror_acked = int(found[0]), found[1] or 0, found[2], found[3]
    if values["version"] <= version:
        return mirror_id  # an older snapshot, overtaken by one already applied
    reopened = values["generation"] > generation
    conn.execute(
        "UPDATE alerts SET severity = %(severity)s, summary = %(summary)s, details = %(details)s::jsonb,"
        " fired_at = %(fired_at)s, closed_at = %(closed_at)s, active = %(active)s, occurrences = %(occurrences)s,"
        " generation = %(generation)s, flapping = %(flapping)s, origin_version = %(version)s"
        " WHERE id = %(id)s",
        {**values, "id": mirror_id},
    )
    if reopened:
        conn.execute(
            "UPDATE alerts SET acknowledged_at = NULL, acknowledged_by = NULL, acknowledged_by_id = NULL,"
            " ack_comment = NULL, ack_source = NULL, ack_sent = false WHERE id = %s",
            (mirror_id,),
        )
    if acked_at is not None and (mirror_acked is None or reopened):
        conn.execute(
            "UPDATE alerts SET acknowledged_at = %s, acknowledged_by = %s, ack_comment = %s, ack_source = 'remote'"
            " WHERE id = %s AND acknowledged_at IS NULL",
            (acked_at, acked_by, values["ack_comment"], mirror_id),
        )
    return mirror_id


def _remote_ack(conn: Connection, hub: str, a: dict[str, Any], now: datetime) -> int | None:
    """The province acknowledged the mirror of one of our alerts: acknowledge ours, naming them."""
    origin_id = a.get("origin_alert_id")
    if origin_id is None or a.get("acknowledged_at") is None:
        return None
    row = conn.execute(
        "UPDATE alerts SET acknowledged_at = %s, acknowledged_by = %s, ack_comment = %s, ack_source = 'remote'"
        " WHERE id = %s AND acknowledged_at IS NULL AND generation = %s RETURNING id",
        (
            _ts(a["acknowledged_at"]),
            f"{hub}:{a.get('acknowledged_by') or ''}",
            a.get("ack_comment"),
            int(origin_id),
            int(a.get("generation") or 1),
        ),
    ).fetchone()
    if row is None:
        return None
    audit_log.record(
        conn,
        AuditEntry(
            at=now,
            action="alert.acknowledge",
            outcome="ok",
            username=f"{hub}:{a.get('acknowledged_by') or ''}",
            target=f"alert {origin_id}",
            details={"source": hub, "comment": a.get("ack_comment")},
        ),
    )
    return int(row[0])
