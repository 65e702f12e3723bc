"""Alert rows through their lifecycle (:mod:`hub.alerts.lifecycle`): raised and cleared by liveness
transitions, sequence gaps and the rules engine, promoted and calmed by the dispatcher's tick.

``open_alert`` / ``close_alert`` keep their first signatures and meaning for their callers — True when an
alert was opened (a new row, or a resolved one reopened) / resolved — but each goes through the pure state
machine under the row's lock: a raise of an open alert only counts (nothing is written unless the severity
rose or a flapping alert's condition came back); a kind with a ``for`` duration waits in ``alert_pending``;
a clear of a flapping alert holds it open.  Either works inside the caller's transaction (a savepoint)
or on its own.  Lifecycle effects are appended to the audit log (sealed later by the dispatcher).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hub.alerts import lifecycle
from hub.alerts.lifecycle import Clear, Raise, Step, Tick, Tracked
from hub.alerts.model import AGENT_OFFLINE, FlapPolicy, KindPolicy
from hub.liveness import Transition, WentOffline
from hub.store import audit_log
from hub.store.connection import Connection
from protocol.messages import Scalar
from protocol.topics import AgentPath

DEFAULT_POLICY = KindPolicy()
_AUDITED = {
    "fired": "alert.fired",
    "reopened": "alert.reopened",
    "flapping": "alert.flapping",
    "resolved": "alert.resolved",
    "calmed": "alert.calmed",
    "raised_severity": "alert.severity",
}

_ROW = (
    "id, severity, fired_at, opened_at, active, flapping, occurrences, generation, openings, last_change_at,"
    " closed_at, acknowledged_at, kind, agent_id, device_id"
)


def agent_offline_fingerprint(agent_id: str) -> str:
    return f"{AGENT_OFFLINE}:{agent_id}"


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    tracked: Tracked
    kind: str
    agent_id: str
    device_id: str | None


def _row(r: tuple[Any, ...]) -> _Row:
    (
        id_,
        severity,
        fired_at,
        opened_at,
        active,
        flapping,
        occurrences,
        generation,
        openings,
        last_change,
        closed_at,
        acked_at,
        kind,
        agent_id,
        device_id,
    ) = r
    tracked = Tracked(
        state=lifecycle.state_of(closed=closed_at is not None, acknowledged=acked_at is not None),
        severity=severity,
        since=fired_at or opened_at,
        active=active,
        flapping=flapping,
        occurrences=occurrences,
        generation=generation,
        openings=tuple(openings or ()),
        last_change=last_change,
        closed_at=closed_at,
    )
    return _Row(int(id_), tracked, kind, agent_id, device_id)


def policy_for(conn: Connection, kind: str) -> KindPolicy:
    row = conn.execute(
        "SELECT for_s, flap_window_s, flap_openings, flap_calm_s FROM alert_policy WHERE kind = %s OR kind = '*'"
        " ORDER BY kind = '*' LIMIT 1",
        (kind,),
    ).fetchone()
    if row is None:
        return DEFAULT_POLICY
    return KindPolicy(float(row[0]), FlapPolicy(float(row[1]), int(row[2]), float(row[3])))


def save_policies(conn: Connection, policies: dict[str, KindPolicy]) -> None:
    """Make ``policies`` (kind → policy; ``*`` for every other kind) the database's, replacing what was there."""
    with conn.transaction():
        conn.execute("DELETE FROM alert_policy")
        for kind, p in sorted(policies.items()):
            conn.execute(
                "INSERT INTO alert_policy (kind, for_s, flap_window_s, flap_openings, flap_calm_s)"
                " VALUES (%s, %s, %s, %s, %s)",
                (kind, p.for_s, p.flap.window_s, p.flap.openings, p.flap.calm_s),
            )


def _current(conn: Connection, fingerprint: str, now: datetime, policy: KindPolicy) -> _Row | None:
    """The open alert of this fingerprint, else the last one resolved within the flap window; locked."""
    row = conn.execute(
        f"SELECT {_ROW} FROM alerts WHERE fingerprint = %s AND (closed_at IS NULL OR closed_at >= %s)"  # noqa: S608  # constant columns
        " ORDER BY closed_at DESC NULLS FIRST LIMIT 1 FOR UPDATE",
        (fingerprint, now - timedelta(seconds=policy.flap.window_s)),
    ).fetchone()
    return None if row is None else _row(row)


def _pending(conn: Connection, fingerprint: str) -> Tracked | None:
    row = conn.execute(
        "SELECT severity, since FROM alert_pending WHERE fingerprint = %s FOR UPDATE", (fingerprint,)
    ).fetchone()
    return None if row is None else Tracked(state="pending", severity=row[0], since=row[1])


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
    """Raise the condition behind ``fingerprint``; True when an alert opened (new, or a resolved one reopened)."""
    with conn.transaction():
        policy = policy_for(conn, kind)
        current = _current(conn, fingerprint, opened_at, policy)
        pending = _pending(conn, fingerprint) if current is None or current.tracked.state == "resolved" else None
        prev = pending if pending is not None else (None if current is None else current.tracked)
        step = lifecycle.step(prev, Raise(opened_at, severity), policy)
        args = _Args(fingerprint, kind, agent_id, device_id, summary, details)
        if step.effect == "pending":
            conn.execute(
                "INSERT INTO alert_pending (fingerprint, kind, severity, agent_id, device_id, summary, details,"
                " since, fire_at) VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s) ON CONFLICT DO NOTHING",
                (
                    fingerprint,
                    kind,
                    severity,
                    agent_id,
                    device_id,
                    summary,
                    json.dumps(details),
                    opened_at,
                    opened_at + timedelta(seconds=policy.for_s),
                ),
            )
            return False
        if pending is not None and step.effect != "none":
            conn.execute("DELETE FROM alert_pending WHERE fingerprint = %s", (fingerprint,))
        return _write(conn, step, current if pending is None else None, args, opened_at)


@dataclass(frozen=True, slots=True)
class _Args:
    fingerprint: str
    kind: str
    agent_id: str
    device_id: str | None
    summary: str
    details: dict[str, object]


def _write(conn: Connection, step: Step, current: _Row | None, args: _Args, now: datetime) -> bool:
    t = step.tracked
    if t is None or step.effect in ("none", "pending", "discarded"):
        if step.effect == "none" and t is not None and t.state == "pending":
            conn.execute(
                "UPDATE alert_pending SET severity = %s WHERE fingerprint = %s", (t.severity, args.fingerprint)
            )
        return False
    if step.effect == "fired" and (current is None or current.tracked.state == "resolved"):
        alert_id = _insert(conn, args, t)
        if alert_id is not None:
            _audit(conn, step=step, alert_id=alert_id, args=args, t=t, now=now)
        return alert_id is not None
    assert current is not None
    reopening = step.effect in ("reopened", "flapping")
    conn.execute(
        "UPDATE alerts SET severity = %(severity)s, active = %(active)s, flapping = %(flapping)s,"  # noqa: S608  # constant SQL
        " occurrences = %(occurrences)s, generation = %(generation)s, openings = %(openings)s,"
        " last_change_at = %(last_change)s, fired_at = %(since)s, closed_at = %(closed_at)s"
        + (
            ", summary = %(summary)s, details = %(details)s::jsonb, acknowledged_at = NULL, acknowledged_by = NULL,"
            " acknowledged_by_id = NULL, ack_comment = NULL, ack_source = NULL, ack_sent = false, flap_notified = false"
            if reopening
            else ""
        )
        + " WHERE id = %(id)s",
        {
            "severity": t.severity,
            "active": t.active,
            "flapping": t.flapping,
            "occurrences": t.occurrences,
            "generation": t.generation,
            "openings": list(t.openings),
            "last_change": t.last_change,
            "since": t.since,
            "closed_at": t.closed_at,
            "summary": args.summary,
            "details": json.dumps(args.details),
            "id": current.id,
        },
    )
    _audit(conn, step=step, alert_id=current.id, args=args, t=t, now=now)
    return reopening


def _insert(conn: Connection, args: _Args, t: Tracked) -> int | None:
    path = AgentPath.from_agent_id(args.agent_id)
    row = conn.execute(
        "INSERT INTO alerts (fingerprint, kind, severity, city, site, agent_id, device_id, summary, details, opened_at,"
        " fired_at, openings, last_change_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s)"
        " ON CONFLICT (fingerprint) WHERE closed_at IS NULL DO NOTHING RETURNING id",
        (
            args.fingerprint,
            args.kind,
            t.severity,
            path.city,
            path.site,
            args.agent_id,
            args.device_id,
            args.summary,
            json.dumps(args.details),
            t.since,
            t.since,
            list(t.openings),
            t.last_change,
        ),
    ).fetchone()
    return None if row is None else int(row[0])


def _audit(conn: Connection, *, step: Step, alert_id: int, args: _Args, t: Tracked, now: datetime) -> None:
    action = _AUDITED.get(step.effect)
    if action is None:
        return
    audit_log.record(
        conn,
        audit_log.AuditEntry(
            at=now,
            action=action,
            outcome="ok",
            username="sitewatch",
            target=f"alert {alert_id}",
            details={
                "fingerprint": args.fingerprint,
                "kind": args.kind,
                "severity": t.severity,
                "agent_id": args.agent_id,
                "device_id": args.device_id,
                "occurrences": t.occurrences,
            },
        ),
    )


def close_alert(
    conn: Connection, fingerprint: str, closed_at: datetime, details: Mapping[str, Scalar] | None = None
) -> bool:
    """Clear the condition behind ``fingerprint``; True when an open alert resolved (a flapping one is held open).
    ``details`` are added to a resolved alert's (why it closed, when that is not its condition clearing)."""
    with conn.transaction():
        conn.execute("DELETE FROM alert_pending WHERE fingerprint = %s", (fingerprint,))
        row = conn.execute(
            f"SELECT {_ROW} FROM alerts WHERE fingerprint = %s AND closed_at IS NULL FOR UPDATE",  # noqa: S608  # constant columns
            (fingerprint,),
        ).fetchone()
        if row is None:
            return False
        current = _row(row)
        step = lifecycle.step(current.tracked, Clear(closed_at), DEFAULT_POLICY)
        args = _Args(fingerprint, current.kind, current.agent_id, current.device_id, "", {})
        _write(conn, step, current, args, closed_at)
        if details and step.effect == "resolved":
            conn.execute(
                "UPDATE alerts SET details = details || %s::jsonb WHERE id = %s",
                (json.dumps(dict(details)), current.id),
            )
        return step.effect == "resolved"


def tick(conn: Connection, now: datetime) -> int:
    """Pending alerts whose ``for`` passed fire; flapping ones quiet for long enough calm down or resolve.

    Returns how many changed.  Runs in its own transaction.
    """
    changed = 0
    with conn.transaction():
        due = conn.execute(
            "SELECT fingerprint, kind, severity, agent_id, device_id, summary, details, since FROM alert_pending"
            " WHERE fire_at <= %s ORDER BY fire_at FOR UPDATE SKIP LOCKED",
            (now,),
        ).fetchall()
        for fp, kind, severity, agent_id, device_id, summary, details, since in due:
            conn.execute("DELETE FROM alert_pending WHERE fingerprint = %s", (fp,))
            policy = policy_for(conn, kind)
            step = lifecycle.step(Tracked(state="pending", severity=severity, since=since), Tick(now), policy)
            if step.effect == "fired":
                args = _Args(fp, kind, agent_id, device_id, summary, dict(details))
                changed += int(_write(conn, step, _current(conn, fp, now, policy), args, now))
        flapping = conn.execute(
            f"SELECT {_ROW}, fingerprint FROM alerts WHERE closed_at IS NULL AND flapping"  # noqa: S608  # constant columns
            " ORDER BY id FOR UPDATE SKIP LOCKED"
        ).fetchall()
        for r in flapping:
            current = _row(r[:-1])
            policy = policy_for(conn, current.kind)
            step = lifecycle.step(current.tracked, Tick(now), policy)
            if step.effect in ("calmed", "resolved"):
                args = _Args(r[-1], current.kind, current.agent_id, current.device_id, "", {})
                _write(conn, step, current, args, now)
                changed += 1
    return changed


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
