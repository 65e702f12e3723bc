"""The JSON the API serves (also what /docs shows).  Times are ISO 8601 with their UTC offset."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field

from protocol.messages import Severity

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
    identity: str | None = None


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
    # Site view only: the exam plan version its latest heartbeat reported, "none" when it holds none;
    # None when unknown (no heartbeat yet, an agent that predates calendars) or outside the site view.
    calendar_version: str | None = None


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


class HubAlertOut(BaseModel):
    """One of this hub process's own alerts (database unreachable, ingest lag), as the process holds it:
    ``stored`` is false while the database cannot take it yet."""

    kind: str
    severity: Severity
    summary: str
    since: datetime
    stored: bool


class HealthOut(BaseModel):
    status: Literal["ok", "unavailable"]
    database: str
    mqtt: bool
    storage: Literal["timescaledb", "postgresql"]
    storage_detail: str
    counters: dict[str, Any]
    hub_alerts: list[HubAlertOut] = []


# --- the dashboard's API (v1) -------------------------------------------------------------------------

Role = Literal["city", "provincial", "admin"]


def _storable(value: str) -> str:
    # PostgreSQL text holds neither NUL nor lone surrogates; refuse them here (422) rather than fail there.
    if "\x00" in value:
        raise ValueError("must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text") from None
    return value


Text = Annotated[str, AfterValidator(_storable)]


class Problem(BaseModel):
    """An error: ``detail`` is a stable code the pages translate (e.g. ``not_found``, ``csrf.refused``)."""

    detail: str
    retry_after_s: float | None = None
    field: str | None = None


class SignIn(BaseModel):
    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=256)


class MeOut(BaseModel):
    user_id: int
    username: str
    display_name: str
    role: Role
    city: str | None
    # Send back as X-CSRF-Token on every POST.
    csrf_token: str
    permissions: list[str]
    session_expires_at: datetime
    idle_timeout_s: int
    live_ping_s: float


class SiteSummaryOut(BaseModel):
    site_id: str
    city: str
    site: str
    status: Status
    agents: int
    agents_offline: int
    devices: int
    device_status: dict[str, int]
    open_alerts: int
    unacknowledged_alerts: int
    critical_alerts: int


class CitySummaryOut(BaseModel):
    city: str
    status: Status
    open_alerts: int
    sites: list[SiteSummaryOut]


class OverviewOut(BaseModel):
    generated_at: datetime
    scope: str | None
    cities: list[CitySummaryOut]


class AlertV1Out(AlertOut):
    acknowledged_at: datetime | None
    acknowledged_by: str | None
    ack_comment: str | None
    silenced_until: datetime | None
    silenced_by: str | None
    silence_comment: str | None


class AlertListOut(BaseModel):
    state: Literal["open", "closed", "all"]
    alerts: list[AlertV1Out]


class Acknowledge(BaseModel):
    comment: Text = Field(min_length=1, max_length=1000)


class Silence(BaseModel):
    minutes: int = Field(ge=1, le=24 * 60)
    comment: Text = Field(default="", max_length=1000)


class CameraOut(BaseModel):
    device: DeviceOut
    agent_id: str
    # The latest snapshot's metadata (SnapshotOut), with the JPEG's own URL inside.
    snapshot: str


class RoomOut(BaseModel):
    room: str
    status: Status
    devices: list[DeviceOut]


class TimelineEntry(BaseModel):
    time: datetime
    # event.<name>, alert.opened, alert.closed, alert.acknowledged
    kind: str
    severity: str
    agent_id: str | None
    device_id: str | None
    alert_id: int | None
    text: str
    details: dict[str, Any]


class SiteDetailOut(BaseModel):
    generated_at: datetime
    site_id: str
    city: str
    site: str
    status: Status
    agents: list[AgentOut]
    cameras: list[CameraOut]
    rooms: list[RoomOut]
    alerts: list[AlertV1Out]
    timeline: list[TimelineEntry]
    # The plan version of the calendar in force, which every agent should report; None: no calendar imported.
    calendar_version: str | None = None


class SnapshotOut(BaseModel):
    site_id: str
    device_id: str
    available: bool
    taken_at: datetime | None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    # The JPEG itself, served with the same scope check.
    image_url: str | None = None


class UserOut(BaseModel):
    id: int
    username: str
    display_name: str
    role: Role
    city: str | None
    disabled: bool
    created_at: datetime
    password_changed_at: datetime


class UsersOut(BaseModel):
    users: list[UserOut]


class NewUser(BaseModel):
    username: Text = Field(min_length=2, max_length=64)
    display_name: Text = Field(default="", max_length=100)
    role: Role
    city: Text | None = Field(default=None, max_length=32)
    password: Text = Field(min_length=1, max_length=256)


class NewPassword(BaseModel):
    password: Text = Field(min_length=1, max_length=256)


class AuditOut(BaseModel):
    id: int
    at: datetime
    user_id: int | None
    username: str
    action: str
    outcome: str
    target: str
    client: str
    details: dict[str, Any]


class AuditListOut(BaseModel):
    entries: list[AuditOut]
