"""Store records → the API's shapes for the dashboard pages.  Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hub.calendar.load import PLAN_VERSION_CHARS
from hub.store.dashboard import AlertView, SiteDetail, SiteSummaryRow
from hub.store.users import UserRow
from hub.web.schemas import (
    AlertV1Out,
    CameraOut,
    CitySummaryOut,
    DeviceOut,
    OverviewOut,
    RoomOut,
    SiteDetailOut,
    SiteSummaryOut,
    Status,
    TimelineEntry,
    UserOut,
)
from hub.web.tree import agent_out, as_status, worst

VAULT_KIND = "camera"
NO_ROOM = ""


def site_status(row: SiteSummaryRow) -> Status:
    """One colour per site: offline when any agent is, else its worst device; unknown with no agent at all."""
    if row.agents == 0:
        return "unknown"
    if row.agents_offline:
        return "offline"
    return worst((as_status(s) for s, n in row.device_status.items() if n), "ok")


def overview_out(rows: Sequence[SiteSummaryRow], scope: str | None, generated_at: datetime) -> OverviewOut:
    cities: dict[str, list[SiteSummaryOut]] = {}
    for row in rows:
        cities.setdefault(row.city, []).append(
            SiteSummaryOut(
                site_id=f"{row.city}/{row.site}",
                city=row.city,
                site=row.site,
                status=site_status(row),
                agents=row.agents,
                agents_offline=row.agents_offline,
                devices=row.devices,
                device_status=row.device_status,
                open_alerts=row.open_alerts,
                unacknowledged_alerts=row.unacknowledged_alerts,
                critical_alerts=row.critical_alerts,
            )
        )
    return OverviewOut(
        generated_at=generated_at,
        scope=scope,
        cities=[
            CitySummaryOut(
                city=city,
                status=worst((s.status for s in sites), "unknown"),
                open_alerts=sum(s.open_alerts for s in sites),
                sites=sites,
            )
            for city, sites in sorted(cities.items())
        ],
    )


def alert_v1(a: AlertView) -> AlertV1Out:
    return AlertV1Out(
        id=a.id,
        kind=a.kind,
        severity=a.severity,
        city=a.city,
        site=a.site,
        agent_id=a.agent_id,
        device_id=a.device_id,
        summary=a.summary,
        details=a.details,
        opened_at=a.opened_at,
        closed_at=a.closed_at,
        open=a.closed_at is None,
        acknowledged_at=a.acknowledged_at,
        acknowledged_by=a.acknowledged_by,
        ack_comment=a.ack_comment,
        silenced_until=a.silenced_until,
        silenced_by=a.silenced_by,
        silence_comment=a.silence_comment,
    )


def _timeline(detail: SiteDetail, limit: int) -> list[TimelineEntry]:
    entries = [
        TimelineEntry(
            time=e.time,
            kind=f"event.{e.name}",
            severity=e.severity,
            agent_id=e.agent_id,
            device_id=e.device_id,
            alert_id=None,
            text=e.name,
            details=e.details,
        )
        for e in detail.events
    ]
    for a in detail.alerts:
        moments: list[tuple[str, datetime | None, dict[str, Any]]] = [
            ("alert.opened", a.opened_at, {}),
            ("alert.closed", a.closed_at, {}),
        ]
        moments.append(("alert.acknowledged", a.acknowledged_at, {"by": a.acknowledged_by, "comment": a.ack_comment}))
        for kind, at, extra in moments:
            if at is None:
                continue
            entries.append(
                TimelineEntry(
                    time=at,
                    kind=kind,
                    severity=a.severity,
                    agent_id=a.agent_id,
                    device_id=a.device_id,
                    alert_id=a.id,
                    text=a.kind,
                    details={**a.details, **extra},
                )
            )
    entries.sort(key=lambda e: e.time, reverse=True)
    return entries[:limit]


def site_detail_out(detail: SiteDetail, generated_at: datetime, timeline_limit: int = 200) -> SiteDetailOut:
    agents = [agent_out(row) for row in detail.agents]
    cameras: list[CameraOut] = []
    rooms: dict[str, list[DeviceOut]] = {}
    site_id = f"{detail.city}/{detail.site}"
    for agent in agents:
        for device in agent.devices:
            if device.kind == VAULT_KIND:
                cameras.append(
                    CameraOut(
                        device=device,
                        agent_id=agent.agent_id,
                        snapshot=f"/api/v1/sites/{site_id}/snapshots/{device.id}",
                    )
                )
            else:
                rooms.setdefault(device.room or NO_ROOM, []).append(device)
    return SiteDetailOut(
        generated_at=generated_at,
        site_id=site_id,
        city=detail.city,
        site=detail.site,
        status=worst((a.status for a in agents), "unknown"),
        agents=agents,
        cameras=cameras,
        rooms=[
            RoomOut(room=room, status=worst((d.status for d in devices), "unknown"), devices=devices)
            for room, devices in sorted(rooms.items())
        ],
        alerts=[alert_v1(a) for a in detail.alerts],
        timeline=_timeline(detail, timeline_limit),
        calendar_version=None if detail.calendar_sha256 is None else detail.calendar_sha256[:PLAN_VERSION_CHARS],
    )


def user_out(u: UserRow) -> UserOut:
    return UserOut(
        id=u.id,
        username=u.username,
        display_name=u.display_name,
        role=u.role,  # the table's CHECK allows only the three roles
        city=u.city,
        disabled=u.disabled,
        created_at=u.created_at,
        password_changed_at=u.password_changed_at,
    )
