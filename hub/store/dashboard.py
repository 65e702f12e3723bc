"""What the duty desk's pages read, scoped by city, and the two things it does to an alert.

Every read takes ``city``: None means every city (provincial officers, administrators); a city duty
officer's requests always pass their own city, so scoping is a WHERE clause, not a filter after the fact.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from hub.store.connection import Connection, mapped_errors
from hub.store.records import AgentRow, DeviceRow

AlertStateFilter = Literal["open", "closed", "all"]


@dataclass(frozen=True, slots=True)
class SiteSummaryRow:
    city: str
    site: str
    agents: int
    agents_offline: int
    # device status → count, over the devices of online agents (an offline agent's devices are not known)
    device_status: dict[str, int]
    devices: int
    open_alerts: int
    unacknowledged_alerts: int
    critical_alerts: int


@dataclass(frozen=True, slots=True)
class AlertView:
    id: int
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
    closed_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    silenced_until: datetime | None
    silenced_by: str | None
    silence_comment: str | None


@dataclass(frozen=True, slots=True)
class EventRow:
    time: datetime
    agent_id: str
    name: str
    severity: str
    device_id: str | None
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class SiteDetail:
    city: str
    site: str
    agents: tuple[AgentRow, ...]
    alerts: tuple[AlertView, ...]  # open ones, and those opened or closed since the timeline's start
    events: tuple[EventRow, ...] = field(default=())
    # SHA-256 of the calendar in force (its first hex digits are the plan version agents report); None: none.
    calendar_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class AlertFilter:
    city: str | None = None
    site: str | None = None
    state: AlertStateFilter = "open"
    severity: str | None = None
    acknowledged: bool | None = None
    limit: int = 500


def overview(conn: Connection, city: str | None) -> list[SiteSummaryRow]:
    """One row per site, from one consistent snapshot; sites with alerts but no agent row are included."""
    with mapped_errors("reading the overview failed"), conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        agent_rows = conn.execute(
            "SELECT city, site, count(*), count(*) FILTER (WHERE NOT online) FROM agents"
            " WHERE %(city)s::text IS NULL OR city = %(city)s GROUP BY city, site",
            {"city": city},
        ).fetchall()
        device_rows = conn.execute(
            "SELECT a.city, a.site, a.online, d.status, count(*) FROM agents a"
            " JOIN devices d ON d.agent_id = a.agent_id"
            " WHERE %(city)s::text IS NULL OR a.city = %(city)s GROUP BY 1, 2, 3, 4",
            {"city": city},
        ).fetchall()
        alert_rows = conn.execute(
            "SELECT city, site, count(*), count(*) FILTER (WHERE acknowledged_at IS NULL),"
            " count(*) FILTER (WHERE severity = 'critical') FROM alerts"
            " WHERE closed_at IS NULL AND (%(city)s::text IS NULL OR city = %(city)s) GROUP BY city, site",
            {"city": city},
        ).fetchall()
    agents: dict[tuple[str, str], tuple[int, int]] = {(c, s): (int(n), int(off)) for c, s, n, off in agent_rows}
    statuses: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    devices: dict[tuple[str, str], int] = defaultdict(int)
    for c, s, online, status, n in device_rows:
        devices[(c, s)] += int(n)
        if online:
            counts = statuses[(c, s)]
            counts[status] = counts.get(status, 0) + int(n)
    alerts = {(c, s): (int(n), int(unack), int(crit)) for c, s, n, unack, crit in alert_rows}
    out = []
    for key in sorted(agents.keys() | alerts.keys()):
        n_agents, offline = agents.get(key, (0, 0))
        n_alerts, unack, crit = alerts.get(key, (0, 0, 0))
        out.append(
            SiteSummaryRow(key[0], key[1], n_agents, offline, statuses.get(key, {}), devices.get(key, 0),
                           n_alerts, unack, crit)
        )  # fmt: skip
    return out


_ALERT_COLUMNS = (
    "id, fingerprint, kind, severity, city, site, agent_id, device_id, summary, details, opened_at, closed_at,"
    " acknowledged_at, acknowledged_by, ack_comment, silenced_until, silenced_by, silence_comment"
)


def _alert(row: tuple[Any, ...]) -> AlertView:
    values = list(row)
    values[9] = dict(values[9])
    return AlertView(*values)


def list_alerts(conn: Connection, f: AlertFilter) -> list[AlertView]:
    """Newest first."""
    with mapped_errors("reading alerts failed"):
        rows = conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts"  # noqa: S608  # constant column list, values bound
            " WHERE (%(city)s::text IS NULL OR city = %(city)s)"
            " AND (%(site)s::text IS NULL OR site = %(site)s)"
            " AND (%(severity)s::text IS NULL OR severity = %(severity)s)"
            " AND (%(state)s = 'all' OR (%(state)s = 'open') = (closed_at IS NULL))"
            " AND (%(ack)s::boolean IS NULL OR (acknowledged_at IS NOT NULL) = %(ack)s)"
            " ORDER BY opened_at DESC, id DESC LIMIT %(limit)s",
            {
                "city": f.city,
                "site": f.site,
                "severity": f.severity,
                "state": f.state,
                "ack": f.acknowledged,
                "limit": f.limit,
            },
        ).fetchall()
    return [_alert(r) for r in rows]


def alert_by_id(conn: Connection, alert_id: int, city: str | None) -> AlertView | None:
    with mapped_errors("reading an alert failed"):
        row = conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = %(id)s AND (%(city)s::text IS NULL OR city = %(city)s)",  # noqa: S608  # constant column list, values bound
            {"id": alert_id, "city": city},
        ).fetchone()
    return None if row is None else _alert(row)


def acknowledge_alert(
    conn: Connection, alert_id: int, city: str | None, *, by: str, by_id: int, comment: str, now: datetime
) -> AlertView | None:
    """Record who acknowledged and why; None when the alert is out of scope or already acknowledged."""
    with mapped_errors("acknowledging an alert failed"):
        row = conn.execute(
            "UPDATE alerts SET acknowledged_at = %(now)s, acknowledged_by = %(by)s, acknowledged_by_id = %(by_id)s,"  # noqa: S608  # constant column list, values bound
            " ack_comment = %(comment)s"
            " WHERE id = %(id)s AND acknowledged_at IS NULL AND (%(city)s::text IS NULL OR city = %(city)s)"
            f" RETURNING {_ALERT_COLUMNS}",
            {"now": now, "by": by, "by_id": by_id, "comment": comment, "id": alert_id, "city": city},
        ).fetchone()
    return None if row is None else _alert(row)


def silence_alert(
    conn: Connection, alert_id: int, city: str | None, *, by: str, until: datetime, comment: str
) -> AlertView | None:
    """Silence (or re-silence) an alert until ``until``; None when it is out of scope."""
    with mapped_errors("silencing an alert failed"):
        row = conn.execute(
            "UPDATE alerts SET silenced_until = %(until)s, silenced_by = %(by)s, silence_comment = %(comment)s"  # noqa: S608  # constant column list, values bound
            " WHERE id = %(id)s AND (%(city)s::text IS NULL OR city = %(city)s)"
            f" RETURNING {_ALERT_COLUMNS}",
            {"until": until, "by": by, "comment": comment, "id": alert_id, "city": city},
        ).fetchone()
    return None if row is None else _alert(row)


def site_detail(
    conn: Connection, city: str, site: str, *, since: datetime, timeline_limit: int = 200
) -> SiteDetail | None:
    """A site's agents and devices, its recent alerts and its event timeline; None if the hub never heard of it."""
    with mapped_errors("reading a site failed"), conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        agent_rows = conn.execute(
            "SELECT a.agent_id, a.city, a.site, a.name, a.boot, a.started_at, a.sw_version, a.online,"
            " a.offline_reason, a.last_seen, hb.calendar_version FROM agents a LEFT JOIN LATERAL ("
            "  SELECT h.calendar_version FROM heartbeats h"
            "  WHERE h.agent_id = a.agent_id AND NOT h.historical ORDER BY h.time DESC LIMIT 1"
            " ) hb ON true WHERE a.city = %s AND a.site = %s ORDER BY a.agent_id",
            (city, site),
        ).fetchall()
        ids = [r[0] for r in agent_rows]
        calendar = conn.execute("SELECT sha256 FROM calendars ORDER BY id DESC LIMIT 1").fetchone()
        device_rows = conn.execute(
            "SELECT agent_id, device_id, kind, driver, room, label, status, details, updated_at, identity"
            " FROM devices WHERE agent_id = ANY(%s) ORDER BY agent_id, kind, device_id",
            (ids,),
        ).fetchall()
        alert_rows = conn.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE city = %(city)s AND site = %(site)s"  # noqa: S608  # constant column list, values bound
            " AND (closed_at IS NULL OR closed_at >= %(since)s OR opened_at >= %(since)s)"
            " ORDER BY opened_at DESC, id DESC LIMIT %(limit)s",
            {"city": city, "site": site, "since": since, "limit": timeline_limit},
        ).fetchall()
        event_rows = conn.execute(
            "SELECT time, agent_id, name, severity, device_id, details FROM events"
            " WHERE agent_id = ANY(%s) AND time >= %s ORDER BY time DESC LIMIT %s",
            (ids, since, timeline_limit),
        ).fetchall()
    if not agent_rows and not alert_rows:
        return None
    devices: dict[str, list[DeviceRow]] = defaultdict(list)
    for agent_id, device_id, kind, driver, room, label, status, details, updated_at, identity in device_rows:
        devices[agent_id].append(
            DeviceRow(device_id, kind, driver, room, label, status, dict(details), updated_at, identity)
        )
    agents = tuple(
        AgentRow(agent_id, c, s, name, boot, started, sw, online, reason, seen, tuple(devices.get(agent_id, ())), held)
        for agent_id, c, s, name, boot, started, sw, online, reason, seen, held in agent_rows
    )
    return SiteDetail(
        city=city,
        site=site,
        agents=agents,
        alerts=tuple(_alert(r) for r in alert_rows),
        events=tuple(EventRow(t, a, n, sev, d, dict(det)) for t, a, n, sev, d, det in event_rows),
        calendar_sha256=None if calendar is None else str(calendar[0]),
    )
