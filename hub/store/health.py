"""What the health rules (:mod:`hub.rules.health`) read: each agent's latest live heartbeat and thinning,
the province deliveries that keep failing, the open health alerts to resume from; and the hub process's
own probe of the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final, cast, get_args

from hub.rules.changes import AlertChange
from hub.rules.health import AGENT_KINDS, HUB_KINDS, PROBE_PREFIX, AgentHealth, HealthFinding, ProvinceBacklog
from hub.store.connection import Connection, mapped_errors
from hub.store.handle import Database
from hub.store.rules_input import RulesDatabase, _scalars, apply_changes
from protocol.messages import Severity

THINNED_EVENT: Final = "outbox.thinned"
PROVINCE_TARGET: Final = "province"
_SEVERITIES: Final[frozenset[str]] = frozenset(get_args(Severity))


def agent_health(conn: Connection, now: datetime, fresh_for: timedelta, thinned_within: timedelta) -> list[AgentHealth]:
    """Every agent with a live heartbeat received within ``fresh_for``: its clock offset (agent time minus
    hub receive time), outbox depth, capacity and oldest age, and its latest thinning report."""
    with mapped_errors("reading agent health failed"):
        rows = conn.execute(
            "SELECT a.agent_id, hb.received_at, hb.time, hb.outbox_depth, hb.outbox_capacity, hb.outbox_oldest_s,"
            " (SELECT max(e.received_at) FROM events e WHERE e.agent_id = a.agent_id AND e.name = %s"
            "   AND e.received_at > %s)"
            " FROM agents a JOIN LATERAL ("
            "  SELECT h.time, h.received_at, h.outbox_depth, h.outbox_capacity, h.outbox_oldest_s FROM heartbeats h"
            "  WHERE h.agent_id = a.agent_id AND NOT h.historical ORDER BY h.time DESC LIMIT 1"
            " ) hb ON true WHERE hb.received_at > %s ORDER BY a.agent_id",
            (THINNED_EVENT, now - thinned_within, now - fresh_for),
        ).fetchall()
    return [
        AgentHealth(
            agent_id=agent_id,
            heartbeat_at=received,
            clock_offset_s=(sent - received).total_seconds(),
            outbox_depth=int(depth),
            outbox_capacity=None if capacity is None else int(capacity),
            outbox_oldest_s=None if oldest is None else float(oldest),
            thinned_at=thinned,
        )
        for agent_id, received, sent, depth, capacity, oldest, thinned in rows
    ]


def province_backlog(conn: Connection) -> ProvinceBacklog:
    """Notifications to the province not yet delivered (nor given up) that have failed at least once, and
    those given up: a given-up one keeps counting until a later delivery succeeds."""
    with mapped_errors("reading the province deliveries failed"):
        row = conn.execute(
            "WITH last_ok AS (SELECT max(delivered_at) AS at FROM notifications WHERE target = %(t)s)"
            " SELECT count(*), min(n.created_at), coalesce(sum(n.attempts), 0),"
            "  (array_agg(n.last_error ORDER BY n.last_attempt_at DESC))[1]"
            " FROM notifications n, last_ok WHERE n.target = %(t)s AND n.delivered_at IS NULL"
            "  AND n.last_error IS NOT NULL"
            "  AND (n.failed_at IS NULL OR last_ok.at IS NULL OR n.failed_at > last_ok.at)",
            {"t": PROVINCE_TARGET},
        ).fetchone()
    if row is None:
        return ProvinceBacklog(0, None)
    count, oldest, attempts, error = row
    return ProvinceBacklog(int(count), oldest, int(attempts), error)


def open_health_alerts(conn: Connection) -> list[tuple[HealthFinding, datetime]]:
    """The open health alerts (agents' and this hub's), with when each opened."""
    with mapped_errors("reading open health alerts failed"):
        rows = conn.execute(
            "SELECT fingerprint, kind, severity, agent_id, summary, details, opened_at FROM alerts"
            " WHERE closed_at IS NULL AND kind = ANY(%s) ORDER BY opened_at",
            ([*AGENT_KINDS, *HUB_KINDS],),
        ).fetchall()
    out: list[tuple[HealthFinding, datetime]] = []
    for fingerprint, kind, sev, agent_id, summary, details, opened in rows:
        severity = cast(Severity, sev if sev in _SEVERITIES else "critical")
        out.append((HealthFinding(fingerprint, kind, severity, agent_id, summary, _scalars(details)), opened))
    return out


def monitor_connections(conn: Connection) -> set[str]:
    """The application names of the hub process monitors connected to this database now."""
    with mapped_errors("reading the connected hub processes failed"):
        rows = conn.execute(
            "SELECT DISTINCT application_name FROM pg_stat_activity"
            " WHERE datname = current_database() AND starts_with(application_name, %s)",
            (PROBE_PREFIX,),
        ).fetchall()
    return {str(name) for (name,) in rows}


def ping(conn: Connection) -> None:
    with mapped_errors("the database did not answer"):
        conn.execute("SELECT 1").fetchone()


class HealthDatabase(RulesDatabase):
    """The rules engine's connection, with what the health rules read."""

    def agent_health(self, now: datetime, fresh_for: timedelta, thinned_within: timedelta) -> list[AgentHealth]:
        return self._run(lambda conn: agent_health(conn, now, fresh_for, thinned_within))

    def province_backlog(self) -> ProvinceBacklog:
        return self._run(province_backlog)

    def open_health_alerts(self) -> list[tuple[HealthFinding, datetime]]:
        return self._run(open_health_alerts)

    def monitor_connections(self) -> set[str]:
        return self._run(monitor_connections)


class ProbeDatabase(Database):
    """A hub process's own connection for probing the database and storing its own health alerts."""

    def ping(self) -> None:
        self._run(ping)

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        return self._run(lambda conn: apply_changes(conn, changes))

    def open_health_alerts(self) -> list[tuple[HealthFinding, datetime]]:
        return self._run(open_health_alerts)
