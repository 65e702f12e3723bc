"""Plain values crossing the store's boundary: what the writer hands in, what the web reads out.

Nothing here imports psycopg, so ingest and web can build and read these without touching SQL.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from hub.liveness import Transition
from protocol.messages import UpMessage

StorageMode = Literal["timescaledb", "postgresql"]


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message that decoded cleanly, with the hub's receive time.

    ``retained``: a stored copy the broker handed us on subscribing, not a live publish.
    """

    message: UpMessage
    received_at: datetime
    retained: bool = False


MessageKey = tuple[str, str, int]  # (agent id, boot, seq)


@dataclass(frozen=True, slots=True)
class Rejected:
    """A message to quarantine: the raw bytes and why they were refused.

    ``key`` is the (agent, boot, seq) it claims, when its topic and payload are readable enough to tell:
    the agent is then told it was received, and the hub does not count it as missing.
    """

    topic: str
    payload: bytes
    received_at: datetime
    code: str
    reason: str
    key: MessageKey | None = None


Item = Accepted | Rejected


@dataclass(slots=True)
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    quarantined: Counter[str] = field(default_factory=Counter)
    # stale births and deaths, traffic from another boot, historical replays: stored, liveness untouched
    ignored: Counter[str] = field(default_factory=Counter)
    transitions: list[Transition] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StorageInfo:
    mode: StorageMode
    version: str | None = None
    note: str = ""

    def describe(self) -> str:
        if self.mode == "timescaledb":
            return f"TimescaleDB {self.version} hypertables"
        return f"plain PostgreSQL tables ({self.note or 'timescaledb not available'})"


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    kind: str
    driver: str | None
    room: str | None
    label: str
    status: str
    details: dict[str, Any]
    updated_at: datetime | None
    # the hardware in this slot as the latest birth announced it (an ID-card reader's SAM id)
    identity: str | None = None


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent_id: str
    city: str
    site: str
    name: str
    boot: str | None
    started_at: datetime | None
    sw_version: str | None
    online: bool
    offline_reason: str | None
    last_seen: datetime | None
    devices: tuple[DeviceRow, ...] = ()
    # The exam plan version its latest live heartbeat reported ("none": it holds none); None when unknown or
    # not read for this view.
    calendar_version: str | None = None


@dataclass(frozen=True, slots=True)
class AlertRow:
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


@dataclass(frozen=True, slots=True)
class SitesSnapshot:
    agents: tuple[AgentRow, ...]
    # (city, site) → number of open alerts
    open_alerts: dict[tuple[str, str], int]
