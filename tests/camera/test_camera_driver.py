"""The camera driver end to end on real files and the synthetic room: commissioning, states, events."""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from camera_footage import EMPTY_WIDE, WALKING, WALKING_PAUSE, path

from agent import camera_commission
from agent.config import load_config
from agent.drivers.base import DriverEvent
from agent.drivers.camera.config import CameraConfig
from agent.drivers.camera.driver import CameraDriver
from agent.drivers.registry import create_driver
from protocol.messages import DeviceState

CAMERA = "vault-cam-1"


def write_config(folder: Path, **keys: object) -> Path:
    lines = [
        "[agent]",
        'city = "weihai"',
        'site = "no1-school"',
        'name = "vault-agent"',
        "[broker]",
        'host = "127.0.0.1"',
        "[[devices]]",
        'driver = "camera"',
        f'id = "{CAMERA}"',
        'room = "vault"',
    ]
    for key, value in keys.items():
        text = ("true" if value else "false") if isinstance(value, bool) else repr(value).replace("'", '"')
        lines.append(f"{key} = {text}")
    file = folder / "agent.toml"
    file.write_text("\n".join(lines) + "\n")
    return file


def commission(config: Path, *extra: str) -> int:
    parser = argparse.ArgumentParser()
    camera_commission.add_arguments(parser)
    return camera_commission.run(parser.parse_args(["--config", str(config), "--camera", CAMERA, *extra]))


@pytest.fixture
def running() -> Iterator[Callable[[Path], CameraDriver]]:
    drivers: list[CameraDriver] = []

    def start(config_file: Path) -> CameraDriver:
        device = load_config(config_file).devices[0]
        assert isinstance(device, CameraConfig)
        driver = CameraDriver(device, base_dir=config_file.parent)
        drivers.append(driver)
        driver.start()
        return driver

    yield start
    for driver in drivers:
        driver.close()
        driver.close()  # closing twice is allowed


def poll_until(
    driver: CameraDriver, condition: Callable[[DeviceState], bool], timeout: float, events: list[DriverEvent]
) -> DeviceState:
    deadline = time.monotonic() + timeout
    while True:
        state = driver.poll(datetime.now(UTC))
        events += driver.events()
        if condition(state):
            return state
        assert time.monotonic() < deadline, f"no such state in {timeout} s; last {state.status} {state.details}"
        time.sleep(0.1)


# The wide-angle room: far-away people, so HOG without shrinking or border.
WIDE = {"hog_width": 480, "hog_border": 0.0}


def test_commissioning_writes_a_baseline_and_the_driver_uses_it(
    tmp_path: Path, running: Callable[[Path], CameraDriver], capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, source=str(path(EMPTY_WIDE)), fps=4.0, signal_lost_after_s=1.5, **WIDE)
    assert commission(config, "--seconds", "1.5", "--frames", "8") == 0
    out = capsys.readouterr().out
    assert "baseline of 8 frames written" in out
    assert (tmp_path / "camera-baselines" / f"{CAMERA}.reference.png").is_file()
    assert (tmp_path / "camera-baselines" / f"{CAMERA}.baseline.json").is_file()

    events: list[DriverEvent] = []
    driver = running(config)
    state = poll_until(driver, lambda s: s.details.get("signal") == "ok", 5.0, events)
    assert state.details["tamper_checks"] is True
    assert state.details["tamper_checks_off"] == ""
    assert state.details["people"] == 0
    # The 1.8 s GIF ends (no loop): signal lost within signal_lost_after_s of the last frame.
    state = poll_until(driver, lambda s: s.details.get("signal") == "lost", 6.0, events)
    assert state.status == "fault"
    assert "ended" in str(state.details["error"])
    lost = [e for e in events if e.name == "camera.signal_lost"]
    assert len(lost) == 1
    assert lost[0].severity == "critical"
    assert 1.5 <= float(lost[0].details["after_s"]) <= 1.5 + 0.25 + 0.05  # hold time + one analysis period
    assert lost[0].at <= datetime.now(UTC)


def test_without_a_baseline_the_driver_says_tamper_checks_are_off(
    tmp_path: Path, running: Callable[[Path], CameraDriver]
) -> None:
    config = write_config(tmp_path, source=str(path(EMPTY_WIDE)), loop=True, **WIDE)
    driver = running(config)
    state = poll_until(driver, lambda s: s.details.get("signal") == "ok", 5.0, [])
    assert state.status == "warning"
    assert state.details["tamper_checks"] is False
    assert state.details["baseline"] is False
    assert "sitewatch agent commission-camera" in str(state.details["tamper_checks_off"])


def test_people_walking_in_give_an_entry_event_with_a_bounded_snapshot(
    tmp_path: Path, running: Callable[[Path], CameraDriver]
) -> None:
    config = write_config(
        tmp_path, source=f"file:{path(WALKING)}", loop=True, fps=5.0, faces=True, face_min_neighbors=3
    )
    events: list[DriverEvent] = []
    driver = running(config)
    poll_until(driver, lambda s: int(s.details.get("people") or 0) >= 1, 10.0, events)
    entries = [e for e in events if e.name == "vault.entry"]
    assert entries, events
    entry = entries[0]
    sha = str(entry.details["snapshot"])
    snapshot = driver.take_snapshot(sha)
    assert snapshot is not None
    assert driver.take_snapshot(sha) is None, "handed over once, then forgotten"
    assert snapshot.jpeg[:2] == b"\xff\xd8"
    assert snapshot.size == entry.details["snapshot_bytes"] <= 60_000
    assert all(not isinstance(v, bytes) for v in entry.details.values())


def test_the_synthetic_room_runs_through_the_registry(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, source="synthetic:7", fps=4.0))
    driver = create_driver(config.devices[0])
    assert isinstance(driver, CameraDriver)
    driver.start()
    try:
        state = poll_until(driver, lambda s: s.details.get("signal") == "ok", 5.0, [])
        assert state.details["source"] == "synthetic"
        assert state.details["people"] == 0  # the room is empty for its first 15 s
        time.sleep(1.0)
        state = driver.poll(datetime.now(UTC))
        assert "frozen" not in str(state.details["problems"])
    finally:
        driver.close()


def test_commissioning_refuses_a_view_with_people(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, source=str(path(WALKING_PAUSE)), faces=True, face_max_size=0.3)
    assert commission(config, "--seconds", "1.5", "--frames", "6") == 1
    assert "commission the empty vault" in capsys.readouterr().err
    assert not (tmp_path / "camera-baselines").exists()


def test_commissioning_names_a_wrong_camera(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = write_config(tmp_path, source="synthetic")
    parser = argparse.ArgumentParser()
    camera_commission.add_arguments(parser)
    assert camera_commission.run(parser.parse_args(["--config", str(config), "--camera", "nope"])) == 2
    assert f"cameras: {CAMERA}" in capsys.readouterr().err


def test_an_unreachable_camera_is_signal_lost_not_a_crash(
    tmp_path: Path, running: Callable[[Path], CameraDriver]
) -> None:
    config = write_config(
        tmp_path,
        source="rtsp://viewer:secret@127.0.0.1:9/none",
        open_timeout_s=0.5,
        signal_lost_after_s=1.0,
        reconnect_min_s=0.2,
    )
    events: list[DriverEvent] = []
    driver = running(config)
    state = poll_until(driver, lambda s: s.details.get("signal") == "lost", 5.0, events)
    assert "cannot open rtsp://***@127.0.0.1:9/none" in str(state.details["error"])
    assert "secret" not in str(state.details) + str(events)


def analysis_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "camera-analyse"]


def test_cameras_share_one_analysis_thread_that_ends_with_the_last(tmp_path: Path) -> None:
    drivers = []
    for seed in (1, 2, 3):
        folder = tmp_path / f"site{seed}"
        folder.mkdir()
        device = load_config(write_config(folder, source=f"synthetic:{seed}", fps=4.0)).devices[0]
        assert isinstance(device, CameraConfig)
        drivers.append(CameraDriver(device, base_dir=folder))
    try:
        for driver in drivers:
            driver.start()
        for driver in drivers:
            poll_until(driver, lambda s: s.details.get("signal") == "ok", 5.0, [])
        assert len(analysis_threads()) == 1
        drivers[0].close()
        # The others are still analysed: past the driver's stall limit (10 periods, 2.5 s) a camera nobody
        # analyses any more would make poll raise.
        time.sleep(3.0)
        for driver in drivers[1:]:
            assert driver.poll(datetime.now(UTC)).details.get("signal") == "ok"
    finally:
        for driver in drivers:
            driver.close()
    deadline = time.monotonic() + 5.0
    while analysis_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not analysis_threads()
