"""Flat agent rows → the city → site → agent → device tree, with each level's worst status.  Pure."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hub.store.records import AgentRow, AlertRow, SitesSnapshot
from hub.web.schemas import AgentOut, AlertOut, CityOut, DeviceOut, SiteOut, SitesOut, Status

# Worse is higher.  Unknown sits above ok: not knowing is worth a look, but less than a warning.
SEVERITY: dict[Status, int] = {"ok": 0, "unknown": 1, "warning": 2, "fault": 3, "offline": 4}
_BY_NAME: dict[str, Status] = {status: status for status in SEVERITY}


def as_status(value: str) -> Status:
    return _BY_NAME.get(value, "unknown")


def worst(statuses: Iterable[Status], empty: Status) -> Status:
    return max(statuses, key=SEVERITY.__getitem__, default=empty)


def agent_out(row: AgentRow) -> AgentOut:
    devices = [
        DeviceOut(
            id=d.device_id,
            kind=d.kind,
            driver=d.driver,
            room=d.room,
            label=d.label,
            status=as_status(d.status),
            details=d.details,
            updated_at=d.updated_at,
            identity=d.identity,
        )
        for d in row.devices
    ]
    status: Status = worst((d.status for d in devices), "ok") if row.online else "offline"
    return AgentOut(
        agent_id=row.agent_id,
        name=row.name,
        online=row.online,
        offline_reason=row.offline_reason,
        status=status,
        last_seen=row.last_seen,
        boot=row.boot,
        started_at=row.started_at,
        sw_version=row.sw_version,
        devices=devices,
        calendar_version=row.calendar_version,
    )


def build_tree(snapshot: SitesSnapshot, generated_at: datetime) -> SitesOut:
    sites: dict[tuple[str, str], list[AgentOut]] = {}
    for row in snapshot.agents:
        sites.setdefault((row.city, row.site), []).append(agent_out(row))
    # A site can have open alerts but no agent row left (agents are never deleted today, but be safe).
    for key in snapshot.open_alerts:
        sites.setdefault(key, [])
    cities: dict[str, list[SiteOut]] = {}
    for (city, site), agents in sorted(sites.items()):
        cities.setdefault(city, []).append(
            SiteOut(
                site_id=f"{city}/{site}",
                city=city,
                site=site,
                status=worst((a.status for a in agents), "unknown"),
                open_alerts=snapshot.open_alerts.get((city, site), 0),
                agents=agents,
            )
        )
    return SitesOut(
        generated_at=generated_at,
        cities=[
            CityOut(
                city=city,
                status=worst((s.status for s in city_sites), "unknown"),
                open_alerts=sum(s.open_alerts for s in city_sites),
                sites=city_sites,
            )
            for city, city_sites in cities.items()
        ],
    )


def alert_out(row: AlertRow) -> AlertOut:
    return AlertOut(
        id=row.id,
        kind=row.kind,
        severity=row.severity,
        city=row.city,
        site=row.site,
        agent_id=row.agent_id,
        device_id=row.device_id,
        summary=row.summary,
        details=row.details,
        opened_at=row.opened_at,
        closed_at=row.closed_at,
        open=row.closed_at is None,
    )
