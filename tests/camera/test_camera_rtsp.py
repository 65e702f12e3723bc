"""A real RTSP camera (Debian's GStreamer RTSP server, real footage) that hangs, dies and comes back.

SIGSTOP imitates a hung camera: no more frames, the TCP connection stays open.  The driver must report
"signal lost" within ``signal_lost_after_s`` of the last frame; after SIGKILL and a restart on the same
port it must reconnect on its own and report the signal back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from camera_footage import ONE_BY_ONE, path

from agent.drivers.base import DriverEvent
from agent.drivers.camera.config import CameraConfig
from agent.drivers.camera.driver import CameraDriver
from hub.stack.process import free_port
from protocol.messages import DeviceState

SERVER = Path(__file__).with_name("rtsp_server.py")
SYSTEM_PYTHON = "/usr/bin/python3"
PACKAGES = "gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good python3-gi"
SIGNAL_LOST_AFTER_S = 2.0
FPS = 4.0


class RtspCamera:
    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/cam"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        process = subprocess.Popen(
            [SYSTEM_PYTHON, str(SERVER), str(self.port), str(path(ONE_BY_ONE))],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.process = process
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        if line != "ready":
            rest = line + process.stdout.read() if process.poll() is not None else line
            self.kill()
            pytest.fail(f"the RTSP test camera did not start ({rest!r}); it needs the Debian packages {PACKAGES}")

    def signal(self, signum: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signum)

    def kill(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()  # also ends a stopped process
        process.wait(10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
def camera() -> Iterator[RtspCamera]:
    if not os.access(SYSTEM_PYTHON, os.X_OK):
        pytest.fail(f"{SYSTEM_PYTHON} missing: the RTSP test camera runs on Debian's python3 with {PACKAGES}")
    cam = RtspCamera(free_port())
    cam.start()
    yield cam
    cam.kill()


def poll_until(
    driver: CameraDriver, condition: Callable[[DeviceState], bool], timeout: float, events: list[DriverEvent]
) -> tuple[DeviceState, float]:
    deadline = time.monotonic() + timeout
    while True:
        state = driver.poll(datetime.now(UTC))
        events += driver.events()
        if condition(state):
            return state, time.monotonic()
        assert time.monotonic() < deadline, f"no such state in {timeout} s; last {state.status} {state.details}"
        time.sleep(0.05)


def test_rtsp_camera_hangs_dies_and_recovers(camera: RtspCamera, tmp_path: Path) -> None:
    config = CameraConfig(
        id="vault-cam-rtsp",
        source=camera.url,
        fps=FPS,
        # Opening this stream takes FFmpeg about 2 s (probing), whichever RTSP transport.
        open_timeout_s=4.0,
        read_timeout_s=1.0,
        signal_lost_after_s=SIGNAL_LOST_AFTER_S,
        clear_after_s=1.0,
        reconnect_min_s=0.5,
        reconnect_max_s=2.0,
    )
    driver = CameraDriver(config, base_dir=tmp_path)
    events: list[DriverEvent] = []
    driver.start()
    try:
        state, _ = poll_until(
            driver, lambda s: s.details.get("signal") == "ok" and not s.details["problems"], 15.0, events
        )
        assert state.details["source"] == "rtsp"
        events.clear()  # a slow first open may already have been "lost" for a moment

        camera.signal(signal.SIGSTOP)
        stopped = time.monotonic()
        state, lost_at = poll_until(driver, lambda s: s.details.get("signal") == "lost", 10.0, events)
        # Frames already in flight still arrive for a moment; then the configured hold; then one analysis period.
        assert lost_at - stopped <= SIGNAL_LOST_AFTER_S + 1.0 / FPS + 1.0, f"lost after {lost_at - stopped:.1f} s"
        assert state.status == "fault"
        lost = [e for e in events if e.name == "camera.signal_lost"]
        assert [e.severity for e in lost] == ["critical"]

        camera.kill()  # SIGKILL: the camera is gone, its port closed
        camera.start()  # and back on the same port
        state, _ = poll_until(driver, lambda s: s.details.get("signal") == "ok", 20.0, events)
        assert int(state.details["reconnects"]) >= 1
        recovered = [e for e in events if e.name == "camera.recovered" and e.details["problem"] == "signal_lost"]
        assert len(recovered) == 1
    finally:
        driver.close()
