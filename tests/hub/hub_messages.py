"""Protocol messages for hub tests, built from the real models (so they always decode)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from protocol.codec import encode
from protocol.messages import Birth, Death, DeviceInfo, DeviceState, Event, Heartbeat, State

AGENT = "jinan/s01/a1"
T0 = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)

DEVICES = [
    DeviceInfo(kind="camera", id="vault-cam-1", driver="sim-camera", room="vault", label="Vault east"),
    DeviceInfo(kind="idcard", id="reader-101", driver="sim-idcard", room="101"),
    DeviceInfo(kind="jammer", id="jammer-101", driver="sim-jammer", room="101"),
]


def topic(kind: str, agent: str = AGENT) -> str:
    return f"sw/v1/{agent}/{kind}"


def birth(boot: str, started_at: datetime = T0, agent: str = AGENT, devices: list[DeviceInfo] | None = None) -> Birth:
    return Birth(
        agent=agent,
        boot=boot,
        seq=0,
        ts=started_at,
        sw_version="0.1.0",
        started_at=started_at,
        heartbeat_s=1.0,
        devices=DEVICES if devices is None else devices,
    )


def heartbeat(
    boot: str, seq: int, ts: datetime | None = None, agent: str = AGENT, historical: bool = False
) -> Heartbeat:
    return Heartbeat(
        agent=agent,
        boot=boot,
        seq=seq,
        ts=ts or T0 + timedelta(seconds=seq),
        uptime_s=float(seq),
        historical=historical,
    )


def state(boot: str, seq: int, statuses: dict[str, str], ts: datetime | None = None, agent: str = AGENT) -> State:
    kinds = {d.id: d.kind for d in DEVICES}
    return State(
        agent=agent,
        boot=boot,
        seq=seq,
        ts=ts or T0 + timedelta(seconds=seq),
        devices=[
            DeviceState(kind=kinds.get(device_id, "other"), id=device_id, status=status, details={"seq": seq})  # type: ignore[arg-type]
            for device_id, status in statuses.items()
        ],
    )


def event(boot: str, seq: int, agent: str = AGENT) -> Event:
    return Event(
        agent=agent,
        boot=boot,
        seq=seq,
        ts=T0 + timedelta(seconds=seq),
        name="vault.entry",
        severity="info",
        device="vault-cam-1",
        details={"people": 2},
    )


def death(boot: str, reason: str = "will", agent: str = AGENT) -> Death:
    return Death(agent=agent, boot=boot, seq=0, ts=T0, reason=reason)  # type: ignore[arg-type]


def wire(message: Birth | Death | Heartbeat | State | Event) -> tuple[str, bytes]:
    return topic(message.type, message.agent), encode(message)
