"""The JSON the API serves (also what /docs shows).  Times are ISO 8601 with their UTC offset."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

Status = Literal["ok", "warning", "fault", "offline", "unknown"]


class DeviceOut(BaseModel):
    id: str
    kind: str
    driver: str | None
    room: str | None
    label: str
    status: Status
    details: dict[str, Any]
    updated_at: datetime | None


class AgentOut(BaseModel):
    agent_id: str
    name: str
    online: bool
    offline_reason: str | None
    # worst of the agent's devices when online; "offline" when not
    status: Status
    last_seen: datetime | None
    boot: str | None
    started_at: datetime | None
    sw_version: str | None
    devices: list[DeviceOut]


class SiteOut(BaseModel):
    site_id: str
    city: str
    site: str
    status: Status
    open_alerts: int
    agents: list[AgentOut]


class CityOut(BaseModel):
    city: str
    status: Status
    open_alerts: int
    sites: list[SiteOut]


class SitesOut(BaseModel):
    generated_at: datetime
    cities: list[CityOut]


class AlertOut(BaseModel):
    id: int
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
    open: bool


class AlertsOut(BaseModel):
    state: Literal["open", "all"]
    alerts: list[AlertOut]


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    mqtt: bool
    storage: Literal["timescaledb", "postgresql"]
    storage_detail: str
    counters: dict[str, Any]
