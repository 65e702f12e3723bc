"""The audit log: sign-ins, refused requests, every action taken on the dashboard (rule R3), the alert
lifecycle, silences, check-ins, deliveries and configuration changes — hash-chained (:mod:`hub.audit.chain`).

Appending never waits for the chain: :func:`record` inserts an unsealed row (so a writer's transaction
takes no lock for it) and, when the connection is not inside a transaction, seals at once.  :func:`seal`
links every unsealed row, in id order, under a transaction-level advisory lock, so exactly one sealer
extends the chain at a time; the dispatcher calls it every tick for rows written inside transactions.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import pq

from hub.audit import chain
from hub.store.connection import Connection, mapped_errors

# Arbitrary but fixed: the sealers of every hub process sharing the database contend for it.
AUDIT_CHAIN_LOCK_KEY = 0x5357_4155  # "SWAU"
SEAL_BATCH = 1000


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
                json.dumps(entry.details, ensure_ascii=False, default=str),
            ),
        )
        if conn.info.transaction_status == pq.TransactionStatus.IDLE:
            seal(conn)


def seal(conn: Connection) -> int:
    """Link every unsealed row into the chain; returns how many were sealed."""
    sealed = 0
    with mapped_errors("sealing the audit log failed"), conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (AUDIT_CHAIN_LOCK_KEY,))
        head = conn.execute(
            "SELECT seq, hash FROM audit_log WHERE seq IS NOT NULL ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        seq, prev = (int(head[0]), str(head[1])) if head is not None else (0, chain.GENESIS)
        while True:
            rows = conn.execute(
                "SELECT id, at, username, action, outcome, target, client, details FROM audit_log"
                " WHERE hash IS NULL ORDER BY id LIMIT %s",
                (SEAL_BATCH,),
            ).fetchall()
            if not rows:
                break
            updates = []
            for id_, at, username, action, outcome, target, client, details in rows:
                seq += 1
                digest = chain.link_hash(
                    seq=seq,
                    prev_hash=prev,
                    at=at,
                    username=username,
                    action=action,
                    outcome=outcome,
                    target=target,
                    client=client,
                    details=details,
                )
                updates.append((seq, prev, digest, id_))
                prev = digest
            with conn.cursor() as cur:
                cur.executemany("UPDATE audit_log SET seq = %s, prev_hash = %s, hash = %s WHERE id = %s", updates)
            sealed += len(updates)
    return sealed


def links(conn: Connection, batch: int = 5000) -> Iterator[chain.Link]:
    """Every sealed row in chain order, read in pages (the table grows without bound)."""
    after = 0
    while True:
        with mapped_errors("reading the audit log failed"):
            rows = conn.execute(
                "SELECT id, seq, at, username, action, outcome, target, client, details, prev_hash, hash"
                " FROM audit_log WHERE seq > %s ORDER BY seq LIMIT %s",
                (after, batch),
            ).fetchall()
        if not rows:
            return
        for r in rows:
            yield chain.Link(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5], r[6], r[7], dict(r[8]), r[9], r[10])
        after = int(rows[-1][1])


def unsealed(conn: Connection) -> int:
    with mapped_errors("reading the audit log failed"):
        row = conn.execute("SELECT count(*) FROM audit_log WHERE hash IS NULL").fetchone()
    return int(row[0]) if row else 0


def verify(conn: Connection) -> chain.Verdict:
    return chain.verify(links(conn))


def last_entry(conn: Connection, actions: Sequence[str]) -> AuditRow | None:
    """The newest entry of any of ``actions``."""
    with mapped_errors("reading the audit log failed"):
        row = conn.execute(
            "SELECT id, at, user_id, username, action, outcome, target, client, details FROM audit_log"
            " WHERE action = ANY(%s) ORDER BY id DESC LIMIT 1",
            (list(actions),),
        ).fetchone()
    return (
        None
        if row is None
        else AuditRow(int(row[0]), row[1], row[2], row[3], row[4], row[5], row[6], row[7], dict(row[8]))
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
