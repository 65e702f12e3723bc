"""The dispatcher's side of the alerts table: claim the alerts that changed or whose next action is due,
hand each to a pure decision (:mod:`hub.notify.dispatcher` over :mod:`hub.alerts.escalation`), and write
back its bookkeeping, its notifications (the outbox) and its audit rows — all in one transaction, so an
alert is never told twice nor forgotten if the hub dies half-way.

Claims use ``FOR UPDATE SKIP LOCKED``: several hub processes may dispatch at once without waiting on or
repeating each other.  Also here: the site-offline alert (every agent of a site offline), which inhibits
the site's other alerts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from hub.alerts.escalation import Facts
from hub.alerts.model import AGENT_OFFLINE, SITE_OFFLINE, labels_of
from hub.alerts.mute import Inhibitor, Silence
from hub.store import alerts, audit_log
from hub.store.audit_log import AuditEntry
from hub.store.connection import Connection, mapped_errors

_COLUMNS = (
    "id, version, fingerprint, kind, severity, city, site, agent_id, device_id, summary, details, opened_at,"
    " fired_at, closed_at, acknowledged_at, acknowledged_by, ack_comment, ack_source, silenced_until, silenced_by,"
    " occurrences, generation, flapping, active, origin_hub, origin_alert_id,"
    " desk_gen, flap_notified, renotified_at, renotify_count, province_gen, resolved_gen, ack_sent"
)


@dataclass(frozen=True, slots=True)
class AlertRecord:
    id: int
    version: int
    fingerprint: str
    kind: str
    severity: str
    city: str
    site: str
    agent_id: str
    device_id: str | None
    summary: str
    details: dict[str, Any]
    opened_at: datetime
    fired_at: datetime
    closed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    ack_source: str | None
    silenced_until: datetime | None
    silenced_by: str | None
    occurrences: int
    generation: int
    flapping: bool
    active: bool
    origin_hub: str | None
    origin_alert_id: int | None
    facts: Facts

    def labels(self) -> dict[str, str]:
        return labels_of(
            fingerprint=self.fingerprint,
            kind=self.kind,
            severity=self.severity,
            city=self.city,
            site=self.site,
            agent_id=self.agent_id,
            device_id=self.device_id,
        )

    def snapshot(self) -> dict[str, Any]:
        """The alert as notifications carry it (JSON-ready)."""

        def iso(t: datetime | None) -> str | None:
            return None if t is None else t.isoformat()

        return {
            "id": self.id,
            "version": self.version,
            "fingerprint": self.fingerprint,
            "kind": self.kind,
            "severity": self.severity,
            "city": self.city,
            "site": self.site,
            "agent_id": self.agent_id,
            "device_id": self.device_id,
            "summary": self.summary,
            "details": self.details,
            "opened_at": iso(self.opened_at),
            "fired_at": iso(self.fired_at),
            "closed_at": iso(self.closed_at),
            "acknowledged_at": iso(self.acknowledged_at),
            "acknowledged_by": self.acknowledged_by,
            "ack_comment": self.ack_comment,
            "occurrences": self.occurrences,
            "generation": self.generation,
            "flapping": self.flapping,
            "origin_hub": self.origin_hub,
            "origin_alert_id": self.origin_alert_id,
        }


def _record(r: tuple[Any, ...]) -> AlertRecord:
    (
        id_,
        version,
        fp,
        kind,
        severity,
        city,
        site,
        agent_id,
        device_id,
        summary,
        details,
        opened_at,
        fired_at,
        closed_at,
        acked_at,
        acked_by,
        ack_comment,
        ack_source,
        silenced_until,
        silenced_by,
        occurrences,
        generation,
        flapping,
        active,
        origin_hub,
        origin_alert_id,
        desk_gen,
        flap_notified,
        renotified_at,
        renotify_count,
        province_gen,
        resolved_gen,
        ack_sent,
    ) = r
    fired = fired_at or opened_at
    facts = Facts(
        severity=severity,
        fired_at=fired,
        generation=generation,
        closed=closed_at is not None,
        acknowledged=acked_at is not None,
        ack_remote=ack_source == "remote",
        flapping=flapping,
        mirrored=origin_hub is not None,
        desk_gen=desk_gen,
        flap_notified=flap_notified,
        renotified_at=renotified_at,
        renotify_count=renotify_count,
        province_gen=province_gen,
        resolved_gen=resolved_gen,
        ack_sent=ack_sent,
    )
    return AlertRecord(
        int(id_),
        int(version),
        fp,
        kind,
        severity,
        city,
        site,
        agent_id,
        device_id,
        summary,
        dict(details),
        opened_at,
        fired,
        closed_at,
        acked_at,
        acked_by,
        ack_comment,
        ack_source,
        silenced_until,
        silenced_by,
        occurrences,
        generation,
        flapping,
        active,
        origin_hub,
        origin_alert_id,
        facts,
    )


@dataclass(frozen=True, slots=True)
class Outgoing:
    target: str
    event: str
    dedup: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Decision:
    facts: Facts
    next_at: datetime | None
    outgoing: Sequence[Outgoing] = ()
    audit: Sequence[AuditEntry] = ()


Decide = Callable[[AlertRecord, Sequence[Silence], Sequence[Inhibitor], datetime], Decision]


@dataclass(slots=True)
class DispatchReport:
    alerts: int = 0
    queued: int = 0
    # (alert id, target, event) of what was queued
    sent: list[tuple[int, str, str]] = field(default_factory=list)


def active_silences(conn: Connection, now: datetime) -> list[Silence]:
    rows = conn.execute(
        "SELECT id, matchers, starts_at, ends_at, created_by, reason FROM silences"
        " WHERE starts_at <= %s AND ends_at > %s",
        (now, now),
    ).fetchall()
    return [Silence(int(r[0]), dict(r[1]), r[2], r[3], r[4], r[5]) for r in rows]


def inhibitors(conn: Connection) -> list[Inhibitor]:
    rows = conn.execute(
        "SELECT kind, city, site, agent_id FROM alerts WHERE closed_at IS NULL AND kind IN (%s, %s)",
        (AGENT_OFFLINE, SITE_OFFLINE),
    ).fetchall()
    return [Inhibitor(*r) for r in rows]


def dispatch(conn: Connection, now: datetime, decide: Decide, limit: int = 200) -> DispatchReport:
    """One pass over the alerts that changed or are due: decide, then write it all in one transaction."""
    report = DispatchReport()
    with mapped_errors("dispatching alerts failed"), conn.transaction():
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE version > dispatched_version OR next_action_at <= %s"  # noqa: S608  # constant columns
            " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED",
            (now, limit),
        ).fetchall()
        if not rows:
            return report
        silences = active_silences(conn, now)
        inhibiting = inhibitors(conn)
        for row in rows:
            record = _record(row)
            decision = decide(record, silences, inhibiting, now)
            _save(conn, record, decision)
            for out in decision.outgoing:
                queued = conn.execute(
                    "INSERT INTO notifications (dedup, alert_id, target, event, payload, created_at, due_at)"
                    " VALUES (%s, %s, %s, %s, %s::jsonb, %s, %s) ON CONFLICT (dedup) DO NOTHING RETURNING id",
                    (out.dedup, record.id, out.target, out.event, json.dumps(out.payload, default=str), now, now),
                ).fetchone()
                if queued is not None:
                    report.queued += 1
                    report.sent.append((record.id, out.target, out.event))
            for entry in decision.audit:
                audit_log.record(conn, entry)
            report.alerts += 1
    return report


def _save(conn: Connection, r: AlertRecord, d: Decision) -> None:
    f = d.facts
    conn.execute(
        "UPDATE alerts SET dispatched_version = %s, next_action_at = %s, desk_gen = %s, flap_notified = %s,"
        " renotified_at = %s, renotify_count = %s, province_gen = %s, resolved_gen = %s, ack_sent = %s"
        " WHERE id = %s",
        (
            r.version,
            d.next_at,
            f.desk_gen,
            f.flap_notified,
            f.renotified_at,
            f.renotify_count,
            f.province_gen,
            f.resolved_gen,
            f.ack_sent,
            r.id,
        ),
    )


def sync_site_offline(conn: Connection, now: datetime) -> tuple[int, int]:
    """A site of several agents, every one offline, gets a ``site_offline`` alert (which inhibits their
    ``agent_offline`` ones: one message instead of many); one agent back closes it.  A site of one agent
    needs none: its ``agent_offline`` alert says it all.

    Returns (opened, resolved).
    """
    opened = resolved = 0
    with mapped_errors("checking offline sites failed"), conn.transaction():
        sites = conn.execute(
            "SELECT city, site, min(agent_id), bool_and(NOT online), count(*) FROM agents GROUP BY city, site"
        ).fetchall()
        open_now = {
            r[0]
            for r in conn.execute(
                "SELECT fingerprint FROM alerts WHERE kind = %s AND closed_at IS NULL", (SITE_OFFLINE,)
            ).fetchall()
        }
        for city, site, agent_id, all_down, n in sites:
            fingerprint = f"{SITE_OFFLINE}:{city}/{site}"
            down = all_down and n >= 2
            if down and fingerprint not in open_now:
                opened += int(
                    alerts.open_alert(
                        conn,
                        fingerprint=fingerprint,
                        kind=SITE_OFFLINE,
                        severity="critical",
                        agent_id=agent_id,
                        summary=f"site {city}/{site} offline: none of its {n} agent(s) is reachable",
                        details={"agents": int(n)},
                        opened_at=now,
                    )
                )
            elif not down and fingerprint in open_now:
                resolved += int(alerts.close_alert(conn, fingerprint, now))
    return opened, resolved


def next_due(conn: Connection) -> datetime | None:
    """The earliest time-driven action: a pending alert firing, a re-notification or escalation due."""
    with mapped_errors("reading alert deadlines failed"):
        row = conn.execute(
            "SELECT least((SELECT min(fire_at) FROM alert_pending),"
            " (SELECT min(next_action_at) FROM alerts WHERE next_action_at IS NOT NULL))"
        ).fetchone()
    return None if row is None else row[0]
