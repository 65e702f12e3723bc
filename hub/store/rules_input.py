"""What the rules engine reads and writes: the snapshot of sites it evaluates, the open alerts it resumes
from, the streams it watches (check-ins, quarantined identity mismatches), its cursors, and its alert
changes (through :func:`hub.store.alerts.open_alert` / ``close_alert``, plus a severity raised in place).

:class:`RulesDatabase` is the engine's own connection; it leads with a lock of its own, so exactly one hub
process evaluates the rules (the one whose engine holds it), independently of which one sweeps liveness.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Final, cast, get_args

from hub.rules.changes import RANK, AlertChange, CloseAlert, OpenAlert
from hub.rules.gonogo import AgentSeen, GoNoGo
from hub.rules.jammer import DeviceSeen
from hub.rules.site import OpenRuleAlert, SiteView
from hub.rules.streams import Quarantined, StoredEvent
from hub.store import calendar as plan
from hub.store.alerts import close_alert, open_alert
from hub.store.connection import Connection, mapped_errors
from hub.store.handle import Database
from protocol.messages import DeviceKind, DeviceStatus, Scalar, Severity

# Not the liveness leader's key: the rules lock is taken by the engine's own connection.
RULES_LOCK_KEY: Final = 0x5357_5255  # "SWRU"
RULE_KINDS: Final = ("jammer.%", "idcard.reader_%", "vault.%", "gonogo")
CHECKIN_EVENT: Final = "idcard.checkin"
IDENTITY_MISMATCH: Final = "identity_mismatch"

_KINDS: Final[frozenset[str]] = frozenset(get_args(DeviceKind))
_STATUSES: Final[frozenset[str]] = frozenset(get_args(DeviceStatus))
_SEVERITIES: Final[frozenset[str]] = frozenset(get_args(Severity))


def try_lead_rules(conn: Connection) -> bool:
    with mapped_errors("taking the rules lock failed"):
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (RULES_LOCK_KEY,)).fetchone()
    return bool(row and row[0])


# --- the snapshot ------------------------------------------------------------------------------------


def site_views(conn: Connection, sites: Collection[str], now: datetime) -> dict[str, SiteView]:
    """Agents and devices of ``sites`` (``<city>/<site>``), with each agent's clock offset and outbox from
    its latest live heartbeat; device times are moved onto the hub's clock with that offset."""
    if not sites:
        return {}
    wanted = sorted(sites)
    with mapped_errors("reading the rules snapshot failed"), conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        agent_rows = conn.execute(
            "SELECT a.agent_id, a.city || '/' || a.site, a.online, a.last_seen, hb.time, hb.received_at,"
            " hb.outbox_depth, hb.calendar_version FROM agents a LEFT JOIN LATERAL ("
            "  SELECT h.time, h.received_at, h.outbox_depth, h.calendar_version FROM heartbeats h"
            "  WHERE h.agent_id = a.agent_id AND NOT h.historical ORDER BY h.time DESC LIMIT 1"
            " ) hb ON true WHERE a.city || '/' || a.site = ANY(%s) ORDER BY a.agent_id",
            (wanted,),
        ).fetchall()
        device_rows = conn.execute(
            "SELECT d.agent_id, d.device_id, d.kind, d.room, d.status, d.details, d.updated_at"
            " FROM devices d JOIN agents a USING (agent_id)"
            " WHERE a.city || '/' || a.site = ANY(%s) ORDER BY d.agent_id, d.device_id",
            (wanted,),
        ).fetchall()
    agents: dict[str, list[AgentSeen]] = {}
    site_of: dict[str, str] = {}
    offsets: dict[str, timedelta] = {}
    for agent_id, site, online, last_seen, hb_time, hb_received, outbox, held in agent_rows:
        offset = None if hb_time is None else (hb_time - hb_received)
        if offset is not None:
            offsets[agent_id] = offset
        site_of[agent_id] = site
        agents.setdefault(site, []).append(
            AgentSeen(
                agent_id=agent_id,
                online=bool(online),
                clock_offset_s=None if offset is None else offset.total_seconds(),
                outbox_depth=None if outbox is None else int(outbox),
                last_seen=last_seen,
                calendar_version=held,
            )
        )
    devices: dict[str, list[DeviceSeen]] = {}
    owners: dict[str, dict[str, str]] = {}
    for agent_id, device_id, kind, room, status, details, updated_at in device_rows:
        site = site_of[agent_id]
        seen_at = None if updated_at is None else updated_at - offsets.get(agent_id, timedelta(0))
        devices.setdefault(site, []).append(
            DeviceSeen(
                kind=cast(DeviceKind, kind if kind in _KINDS else "other"),
                id=device_id,
                room=room,
                status=cast(DeviceStatus, status if status in _STATUSES else "unknown"),
                details=_scalars(details),
                # A device clock ahead of the hub's must not make a state look fresher than now.
                seen_at=None if seen_at is None else min(seen_at, now),
            )
        )
        owners.setdefault(site, {}).setdefault(device_id, agent_id)
    return {
        site: SiteView(site, tuple(agents.get(site, ())), tuple(devices.get(site, ())), owners.get(site, {}))
        for site in wanted
        if site in agents
    }


def _scalars(value: object) -> dict[str, Scalar]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v for k, v in value.items() if v is None or isinstance(v, str | int | float | bool)}


# --- alerts ------------------------------------------------------------------------------------------


def open_rule_alerts(conn: Connection) -> list[OpenRuleAlert]:
    """The open alerts the rules engine opened (jammer, readers, vault, go / no-go)."""
    with mapped_errors("reading open rule alerts failed"):
        rows = conn.execute(
            "SELECT fingerprint, kind, severity, city || '/' || site, device_id, summary, details, opened_at"
            " FROM alerts WHERE closed_at IS NULL AND kind LIKE ANY(%s) ORDER BY opened_at",
            (list(RULE_KINDS),),
        ).fetchall()
    out: list[OpenRuleAlert] = []
    for fp, kind, sev, site, device, summary, details, opened in rows:
        severity = cast(Severity, sev if sev in _SEVERITIES else "critical")
        out.append(OpenRuleAlert(fp, kind, severity, site, device, summary, _scalars(details), opened))
    return out


def raise_severity(
    conn: Connection, fingerprint: str, severity: Severity, summary: str, details: Mapping[str, Scalar]
) -> bool:
    """Raise the open alert's severity in place (never lowers it); True when it changed."""
    lower = [s for s, rank in RANK.items() if rank < RANK[severity]]
    row = conn.execute(
        "UPDATE alerts SET severity = %s, summary = %s, details = details || %s::jsonb"
        " WHERE fingerprint = %s AND closed_at IS NULL AND severity = ANY(%s) RETURNING id",
        (severity, summary, json.dumps(dict(details)), fingerprint, lower),
    ).fetchone()
    return row is not None


def apply_changes(conn: Connection, changes: Sequence[AlertChange]) -> list[AlertChange]:
    """Apply alert changes in one transaction; returns those that took effect."""
    done: list[AlertChange] = []
    with mapped_errors("applying alert changes failed"), conn.transaction():
        for change in changes:
            if isinstance(change, OpenAlert):
                applied = open_alert(
                    conn,
                    fingerprint=change.fingerprint,
                    kind=change.kind,
                    severity=change.severity,
                    agent_id=change.agent_id,
                    summary=change.summary,
                    details=dict(change.details),
                    opened_at=change.at,
                    device_id=change.device_id,
                )
            elif isinstance(change, CloseAlert):
                applied = close_alert(conn, change.fingerprint, change.at, change.details)
            else:
                applied = raise_severity(conn, change.fingerprint, change.severity, change.summary, change.details)
            if applied:
                done.append(change)
    return done


# --- streams -----------------------------------------------------------------------------------------

_EVENT_COLUMNS: Final = "agent_id, boot, seq, device_id, name, details, time, received_at"


def _event(row: tuple[Any, ...]) -> StoredEvent:
    agent_id, boot, seq, device_id, name, details, at, received_at = row
    return StoredEvent(agent_id, boot, int(seq), device_id, name, _scalars(details), at, received_at)


def checkins(
    conn: Connection, *, received_after: datetime | None, time_from: datetime, time_until: datetime
) -> list[StoredEvent]:
    """Check-in events of agent time in [time_from, time_until) received after ``received_after``."""
    with mapped_errors("reading check-ins failed"):
        rows = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events"  # noqa: S608  # constant column list, values bound
            " WHERE name = %s AND time >= %s AND time < %s AND (%s::timestamptz IS NULL OR received_at > %s)"
            " ORDER BY received_at, agent_id, seq",
            (CHECKIN_EVENT, time_from, time_until, received_after, received_after),
        ).fetchall()
    return [_event(r) for r in rows]


def checkins_of(conn: Connection, candidate: str, time_from: datetime, time_until: datetime) -> list[StoredEvent]:
    """Every check-in of one candidate (keyed HMAC) with agent time in [time_from, time_until)."""
    with mapped_errors("reading check-ins failed"):
        rows = conn.execute(
            f"SELECT {_EVENT_COLUMNS} FROM events"  # noqa: S608  # constant column list, values bound
            " WHERE name = %s AND time >= %s AND time < %s AND details->>'candidate' = %s ORDER BY time",
            (CHECKIN_EVENT, time_from, time_until, candidate),
        ).fetchall()
    return [_event(r) for r in rows]


def identity_mismatches(conn: Connection, received_after: datetime) -> list[Quarantined]:
    with mapped_errors("reading the quarantine failed"):
        rows = conn.execute(
            "SELECT id, received_at, topic, payload, error_code FROM quarantine"
            " WHERE received_at > %s AND error_code = %s ORDER BY received_at, id",
            (received_after, IDENTITY_MISMATCH),
        ).fetchall()
    return [Quarantined(int(i), at, topic, bytes(payload), code) for i, at, topic, payload, code in rows]


def cursor(conn: Connection, name: str) -> datetime | None:
    with mapped_errors("reading a rules cursor failed"):
        row = conn.execute("SELECT position FROM rules_cursors WHERE name = %s", (name,)).fetchone()
    return None if row is None else cast(datetime, row[0])


def set_cursor(conn: Connection, name: str, position: datetime, now: datetime) -> None:
    with mapped_errors("saving a rules cursor failed"):
        conn.execute(
            "INSERT INTO rules_cursors (name, position, updated_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (name) DO UPDATE SET position = GREATEST(rules_cursors.position, EXCLUDED.position),"
            " updated_at = EXCLUDED.updated_at",
            (name, position, now),
        )


# --- the engine's connection -------------------------------------------------------------------------


class RulesDatabase(Database):
    """The rules engine's own connection (see :class:`hub.rules.engine.RulesIO`)."""

    def lead(self) -> bool:
        # Same shape as Database.lead, on the rules lock.
        if self._leading_on is not None and self._leading_on is self._conn and not self._conn.broken:
            return True
        self._leading_on = None
        if self._run(try_lead_rules):
            self._leading_on = self._conn
        return self._leading_on is not None

    def calendar_version(self) -> int | None:
        return self._run(plan.calendar_version)

    def latest_calendar(self) -> tuple[int, str] | None:
        return self._run(plan.latest_calendar)

    def site_views(self, sites: Collection[str], now: datetime) -> Mapping[str, SiteView]:
        return self._run(lambda conn: site_views(conn, sites, now))

    def arrivals(self, since: datetime) -> Mapping[str, datetime]:
        return self._run(lambda conn: plan.earliest_arrivals(conn, since))

    def open_rule_alerts(self) -> list[OpenRuleAlert]:
        return self._run(open_rule_alerts)

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        return self._run(lambda conn: apply_changes(conn, changes))

    def record_gonogo(self, result: GoNoGo, trigger: str, requested_by: str) -> None:
        self._run(lambda conn: plan.record_gonogo(conn, result, trigger, requested_by))

    def checkins(
        self, *, received_after: datetime | None, time_from: datetime, time_until: datetime
    ) -> list[StoredEvent]:
        return self._run(
            lambda conn: checkins(conn, received_after=received_after, time_from=time_from, time_until=time_until)
        )

    def checkins_of(self, candidate: str, time_from: datetime, time_until: datetime) -> list[StoredEvent]:
        return self._run(lambda conn: checkins_of(conn, candidate, time_from, time_until))

    def identity_mismatches(self, received_after: datetime) -> list[Quarantined]:
        return self._run(lambda conn: identity_mismatches(conn, received_after))

    def cursor(self, name: str) -> datetime | None:
        return self._run(lambda conn: cursor(conn, name))

    def set_cursor(self, name: str, position: datetime, now: datetime) -> None:
        self._run(lambda conn: set_cursor(conn, name, position, now))
