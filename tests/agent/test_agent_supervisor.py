"""The supervisor with a list for a sink and a hand-driven clock: what it produces, in what order, when."""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

import pytest

from agent.config import AgentConfig, load_config
from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.errors import DriverError
from agent.outbox import Thinned
from agent.sink import AgentMessage
from agent.supervisor import Supervisor, software_version
from protocol.messages import Birth, DeviceState, Event, Heartbeat, Snapshot, State


class ListSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, AgentMessage]] = []
        self.periodic: list[bool] = []

    def send(self, topic: str, message: AgentMessage, *, periodic: bool = False) -> list[Thinned]:
        self.sent.append((topic, message))
        self.periodic.append(periodic)
        return []

    @property
    def messages(self) -> list[AgentMessage]:
        return [m for _, m in self.sent]

    def of(self, kind: type[Any]) -> list[Any]:
        return [m for m in self.messages if isinstance(m, kind)]


class ScriptedConfig(DeviceConfig):
    driver: Literal["scripted"] = "scripted"


class ScriptedDriver(Driver[ScriptedConfig]):
    """Replays a script, one entry per poll: a status, or an exception to raise."""

    kind = "other"

    def __init__(self, ident: str, script: list[str | Exception]) -> None:
        super().__init__(ScriptedConfig(id=ident))
        self.script = script
        self.polls = 0
        self.closed = False
        self.pending: list[DriverEvent] = []

    def start(self) -> None:
        pass

    def poll(self, now: datetime) -> DeviceState:
        step = self.script[min(self.polls, len(self.script) - 1)]
        self.polls += 1
        if isinstance(step, Exception):
            raise step
        return self.state("ok" if step == "ok" else "warning", {"step": step})

    def events(self) -> list[DriverEvent]:
        drained, self.pending = self.pending, []
        return drained

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def config(write_config: Callable[..., Path], agent_toml: Callable[..., str]) -> AgentConfig:
    return load_config(write_config(agent_toml()))


def _tick(supervisor: Supervisor, clock: Any, seconds: int) -> None:
    for _ in range(seconds):
        clock.advance(1.0)
        supervisor.step()


def test_birth_first_then_heartbeats_every_5_s_with_rising_seq(config: AgentConfig, clock: Any) -> None:
    sink = ListSink()
    supervisor = Supervisor(config, sink, boot="0123456789abcdef", clock=clock)
    supervisor.start_devices()
    supervisor.notify_connected()
    supervisor.step()
    _tick(supervisor, clock, 20)

    topic, birth = sink.sent[0]
    assert isinstance(birth, Birth)
    assert topic == "sw/v1/jinan/s01/a1/birth"
    assert (birth.seq, birth.boot, birth.agent, birth.heartbeat_s) == (0, "0123456789abcdef", "jinan/s01/a1", 5.0)
    assert [(d.id, d.kind, d.driver) for d in birth.devices] == [
        ("vault-cam-1", "camera", "sim-camera"),
        ("reader-101", "idcard", "sim-idcard"),
        ("jammer-101", "jammer", "sim-jammer"),
    ]
    beats = sink.of(Heartbeat)
    assert [b.uptime_s for b in beats] == [5.0, 10.0, 15.0, 20.0]
    assert all(b.outbox_depth == 0 for b in beats)
    later = [m.seq for m in sink.messages[1:]]
    assert later == list(range(1, len(later) + 1)), "seq counts every message after the birth, without gaps"
    for topic, message in sink.sent:
        assert topic == f"sw/v1/jinan/s01/a1/{message.type}"
        assert message.boot == "0123456789abcdef"


def test_state_right_after_birth_and_at_least_every_interval(config: AgentConfig, clock: Any) -> None:
    sink = ListSink()
    steady = ScriptedDriver("d1", ["ok"])
    supervisor = Supervisor(config, sink, clock=clock, drivers=[steady])
    supervisor.notify_connected()
    supervisor.step()
    assert [m.type for m in sink.messages] == ["birth", "state"]
    _tick(supervisor, clock, 12)
    states = sink.of(State)
    # Unchanged device: the state repeats every state_interval_s (5 s), at 0, 5 and 10 s.
    assert [s.ts - states[0].ts for s in states] == [timedelta(seconds=0), timedelta(seconds=5), timedelta(seconds=10)]


def test_state_goes_out_at_once_on_a_change(config: AgentConfig, clock: Any) -> None:
    sink = ListSink()
    changing = ScriptedDriver("d1", ["ok", "ok", "busy", "busy"])
    supervisor = Supervisor(config, sink, clock=clock, drivers=[changing])
    supervisor.notify_connected()
    supervisor.step()  # poll 1: ok, the state after the birth
    _tick(supervisor, clock, 3)  # polls 2 (ok), 3 (busy: a change), 4 (busy)
    states = sink.of(State)
    assert [s.devices[0].details["step"] for s in states] == ["ok", "busy"]
    assert states[1].devices[0].status == "warning"
    assert states[1].ts - states[0].ts == timedelta(seconds=2)


def test_a_failing_driver_is_a_fault_and_the_loop_goes_on(
    config: AgentConfig, clock: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sink = ListSink()
    flaky = ScriptedDriver("d1", ["ok", DriverError("serial port gone"), DriverError("serial port gone"), "ok"])
    buggy = ScriptedDriver("d2", [RuntimeError("bug")])
    fine = ScriptedDriver("d3", ["ok"])
    supervisor = Supervisor(config, sink, clock=clock, drivers=[flaky, buggy, fine])
    supervisor.notify_connected()
    with caplog.at_level(logging.WARNING, logger="sitewatch.agent.devices"):
        supervisor.step()
        _tick(supervisor, clock, 6)
    states = sink.of(State)
    by_step = [{d.id: (d.status, d.details) for d in s.devices} for s in states]
    assert by_step[0]["d1"] == ("ok", {"step": "ok"})
    assert by_step[1]["d1"] == ("fault", {"error": "serial port gone"})
    assert by_step[2]["d1"] == ("ok", {"step": "ok"})
    assert all(s["d2"] == ("fault", {"error": "RuntimeError: bug"}) for s in by_step)
    assert all(s["d3"][0] == "ok" for s in by_step)
    assert flaky.polls == buggy.polls == fine.polls == 7, "every device polled on every pass"
    assert [d.errors for d in supervisor.devices] == [2, 7, 0]
    assert len(sink.of(Heartbeat)) == 1
    # One warning per streak of the same error, not one per poll.
    assert sum("serial port gone" in r.getMessage() for r in caplog.records) == 1
    assert sum("RuntimeError: bug" in r.getMessage() for r in caplog.records) == 1


def test_driver_events_become_event_messages(config: AgentConfig, clock: Any) -> None:
    sink = ListSink()
    driver = ScriptedDriver("d1", ["ok"])
    supervisor = Supervisor(config, sink, clock=clock, drivers=[driver])
    supervisor.notify_connected()
    supervisor.step()
    at = clock.now()
    driver.pending = [
        DriverEvent("door.opened", "warning", at, {"door": 2}),
        DriverEvent("Not A Valid Name", "info", at),
        DriverEvent("door.closed", "info", at),
    ]
    clock.advance(1.0)
    supervisor.step()
    events = sink.of(Event)
    assert [(e.name, e.severity, e.device, e.details, e.ts) for e in events] == [
        ("door.opened", "warning", "d1", {"door": 2}, at),
        ("door.closed", "info", "d1", {}, at),
    ]
    assert supervisor.counters.bad_events == 1
    seqs = [m.seq for m in sink.messages[1:]]
    assert seqs == list(range(1, len(seqs) + 1)), "a rejected event takes no seq"


def test_reconnect_rebirths_with_seq_0_and_resends_state(config: AgentConfig, clock: Any) -> None:
    sink = ListSink()
    supervisor = Supervisor(config, sink, clock=clock, drivers=[ScriptedDriver("d1", ["ok"])])
    supervisor.notify_connected()
    supervisor.step()
    _tick(supervisor, clock, 2)
    supervisor.notify_connected()
    _tick(supervisor, clock, 1)
    kinds = [m.type for m in sink.messages]
    assert kinds == ["birth", "state", "birth", "state"]
    first, second = sink.of(Birth)
    assert (second.seq, second.boot, second.started_at) == (0, first.boot, first.started_at)
    assert second.ts > first.ts
    assert sink.messages[3].seq == 2


def test_without_a_connection_production_goes_on_but_no_birth(config: AgentConfig, clock: Any) -> None:
    sink = ListSink()
    supervisor = Supervisor(config, sink, clock=clock, drivers=[ScriptedDriver("d1", ["ok"])])
    supervisor.step()
    # Without a connection the supervisor still produces (the sink decides what to do with it) but no birth.
    assert [m.type for m in sink.messages] == ["state"]


def test_no_info_log_per_heartbeat(config: AgentConfig, clock: Any, caplog: pytest.LogCaptureFixture) -> None:
    supervisor = Supervisor(config, ListSink(), clock=clock, drivers=[ScriptedDriver("d1", ["ok"])])
    supervisor.notify_connected()
    with caplog.at_level(logging.INFO):
        _tick(supervisor, clock, 30)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == []


def test_run_stops_on_request_and_closes_the_devices(config: AgentConfig) -> None:
    sink = ListSink()
    driver = ScriptedDriver("d1", ["ok"])
    supervisor = Supervisor(config, sink, drivers=[driver], tick_s=0.01)
    thread = threading.Thread(target=supervisor.run)
    thread.start()
    supervisor.notify_connected()
    for _ in range(500):
        if sink.of(Birth):
            break
        threading.Event().wait(0.01)
    supervisor.request_stop()
    thread.join(5)
    assert not thread.is_alive()
    assert sink.of(Birth)
    assert driver.closed


@dataclass(frozen=True)
class _Picture:
    sha256: str
    jpeg: bytes
    width: int = 32
    height: int = 24


class CameraLike(ScriptedDriver):
    """Events that name a picture by hash, as the camera driver's entry/exit events do."""

    kind = "camera"

    def __init__(self, pictures: dict[str, bytes]) -> None:
        super().__init__("cam-1", ["ok"])
        self.pictures = pictures

    def take_snapshot(self, sha256: str) -> _Picture | None:
        jpeg = self.pictures.pop(sha256, None)
        return None if jpeg is None else _Picture(sha256, jpeg)


def test_an_event_naming_a_snapshot_is_followed_by_the_picture(config: AgentConfig, clock: Any) -> None:
    jpeg = b"\xff\xd8\xff\xe0" + b"generated test picture" + b"\xff\xd9"
    sha = hashlib.sha256(jpeg).hexdigest()
    cam = CameraLike({sha: jpeg})
    sink = ListSink()
    supervisor = Supervisor(config, sink, clock=clock, drivers=[cam])
    supervisor.start_devices()
    cam.pending = [
        DriverEvent("vault.entry", "info", clock.now(), {"people": 1, "snapshot": sha}),
        DriverEvent("vault.exit", "info", clock.now(), {"people": 0, "snapshot": "f" * 64}),  # no longer held
    ]
    supervisor.step()
    kinds = [(m.type, getattr(m, "name", None)) for m in sink.messages if m.type in ("event", "snapshot")]
    assert kinds == [("event", "vault.entry"), ("snapshot", None), ("event", "vault.exit")]
    picture = sink.of(Snapshot)[0]
    assert (picture.device, picture.sha256, base64.b64decode(picture.data)) == ("cam-1", sha, jpeg)
    entry = sink.of(Event)[0]
    assert picture.seq == entry.seq + 1
    assert supervisor.counters.snapshots == 1
    assert supervisor.counters.snapshots_missing == 1


def test_a_picture_that_cannot_travel_costs_no_seq(config: AgentConfig, clock: Any) -> None:
    # One not a JPEG (refused as the Snapshot is built), one over the 60 KB bound (refused when checked).
    not_jpeg = b"GIF89a generated test picture"
    too_big = b"\xff\xd8" + bytes(61_000)
    shas = [hashlib.sha256(picture).hexdigest() for picture in (not_jpeg, too_big)]
    cam = CameraLike(dict(zip(shas, (not_jpeg, too_big), strict=True)))
    sink = ListSink()
    supervisor = Supervisor(config, sink, clock=clock, drivers=[cam])
    supervisor.start_devices()
    cam.pending = [DriverEvent("vault.entry", "info", clock.now(), {"snapshot": sha}) for sha in shas]
    supervisor.step()
    assert [m.type for m in sink.messages if m.type in ("event", "snapshot")] == ["event", "event"]
    assert supervisor.counters.snapshots == 0
    assert supervisor.counters.snapshots_missing == 2
    seqs = [m.seq for m in sink.messages]  # no connection yet, so no birth: the events come first
    assert seqs == list(range(1, len(seqs) + 1)), "a picture not sent takes no seq"


def test_the_reported_version_is_the_installed_packages() -> None:
    # The agent reads its version from agent.__version__ (no importlib.metadata at run time); pyproject takes
    # the package's version from the same place, so the two cannot differ once installed.
    assert software_version() == metadata.version("sitewatch")
