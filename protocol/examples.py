"""One example per message type: used by protocol/README.md, the schema tests and the docs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from protocol.messages import (
    Ack,
    AgentCalendar,
    AgentRoster,
    Birth,
    Command,
    CustodyPeriod,
    Death,
    DeviceInfo,
    DeviceState,
    Event,
    Heartbeat,
    PlannedSession,
    RoomRoster,
    Snapshot,
    State,
)

_AGENT = "jinan/s01/a1"
_BOOT = "5f0c2a9e4b7d4e1c"
_TS = datetime(2026, 5, 17, 0, 30, tzinfo=UTC)


_PLAN = "9b1f0c3e5a7d2468"


Example = Birth | Death | Heartbeat | State | Event | Snapshot | Command | Ack | AgentCalendar | AgentRoster


def examples() -> dict[str, Example]:
    return {
        "birth": Birth(
            agent=_AGENT,
            boot=_BOOT,
            seq=0,
            ts=_TS,
            sw_version="0.1.0",
            started_at=_TS,
            heartbeat_s=5.0,
            devices=[
                DeviceInfo(kind="camera", id="vault-cam-1", driver="sim-camera", room="vault", label="Vault east"),
                DeviceInfo(kind="idcard", id="reader-101", driver="sim-idcard", room="101"),
                DeviceInfo(kind="jammer", id="jammer-101", driver="sim-jammer", room="101"),
            ],
        ),
        "death": Death(agent=_AGENT, boot=_BOOT, seq=0, ts=_TS, reason="will"),
        "heartbeat": Heartbeat(
            agent=_AGENT,
            boot=_BOOT,
            seq=17,
            ts=_TS,
            uptime_s=85.0,
            outbox_depth=3,
            outbox_oldest_s=1.5,
            outbox_capacity=100000,
            calendar_version=_PLAN,
        ),
        "state": State(
            agent=_AGENT,
            boot=_BOOT,
            seq=18,
            ts=_TS,
            devices=[
                DeviceState(kind="camera", id="vault-cam-1", status="ok", details={"people": 2, "fps": 2.0}),
                DeviceState(kind="jammer", id="jammer-101", status="fault", details={"band": "lte1800"}),
            ],
        ),
        "event": Event(
            agent=_AGENT,
            boot=_BOOT,
            seq=19,
            ts=_TS,
            name="vault.entry",
            severity="info",
            device="vault-cam-1",
            details={"people": 2},
        ),
        "snapshot": Snapshot(
            agent=_AGENT,
            boot=_BOOT,
            seq=20,
            ts=_TS,
            device="vault-cam-1",
            sha256="13ffb3c7bb96863b1e4e6f1c5126d91b731dd8ef622bd0487b73fa23cc8a140a",
            width=320,
            height=180,
            data="/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAP//////////////////////////////////////////////////////////////////////////////////////2wBDAf//////////////////////////////////////////////////////////////////////////////////////wAARCAABAAEDASIAAhEBAxEB/8QAFAABAAAAAAAAAAAAAAAAAAAAAP/EABQQAQAAAAAAAAAAAAAAAAAAAAD/xAAUAQEAAAAAAAAAAAAAAAAAAAAA/8QAFBEBAAAAAAAAAAAAAAAAAAAAAP/aAAwDAQACEQMRAD8AJ//Z",
        ),
        "command": Command(id="c-20260517-0001", name="resend", args={"boot": _BOOT, "from": 120, "to": 180}, ts=_TS),
        "ack": Ack(boot=_BOOT, ranges=[(0, 19)], ts=_TS),
        "calendar": AgentCalendar(
            version=_PLAN,
            site="jinan/s01",
            ts=_TS,
            jammer_on_before_s=900,
            jammer_off_after_s=600,
            sessions=[
                PlannedSession(
                    id="s1-am",
                    exam="2026-vocational",
                    paper="Electrician (theory)",
                    rooms=["101", "102"],
                    checkin_start=_TS + timedelta(minutes=30),
                    start=_TS + timedelta(hours=1),
                    end=_TS + timedelta(hours=3),
                )
            ],
            custody=[
                CustodyPeriod(
                    collection=_TS - timedelta(days=1),
                    arrival_due=_TS - timedelta(hours=20),
                    returned=_TS + timedelta(days=1),
                )
            ],
        ),
        # A demonstration key (the bytes 0..31), never one in use: a real key is random, made by the hub.
        "roster": AgentRoster(
            exam="2026-vocational",
            site="jinan/s01",
            key_id="630dcd2966c43366",
            key="AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
            ts=_TS,
            rooms=[
                RoomRoster(
                    room="101",
                    candidates=[
                        "5167dd15d18166a9dd6caa3522f7026f13d2f82c052bb245c9f3366588205222",
                        "96c77d0d85786f50c7cd7974e2b3832a12b47bf51d81d7f22136197555193bca",
                    ],
                ),
                RoomRoster(room="102", candidates=["be50ddd42cbf202ab9dcd497caceb3afa320836f55a4ad0886000cd5d083c320"]),
            ],
        ),
    }
