"""USB camera discovery through pyudev's video4linux subsystem, on a fake sysfs (umockdev).

``umockdev-run -d FILE -- python …`` gives the child a testbed holding the devices described in FILE
(generated test cameras: a capture node and the metadata node every UVC camera also has).  Hotplug goes
through umockdev's gi API on Debian's python3 (``udev_watch_probe.py``).  Needs the Debian packages
umockdev, gir1.2-umockdev-1.0 and python3-gi.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pyudev

from agent.drivers.camera.capture import Timeouts
from agent.drivers.camera.errors import CaptureError
from agent.drivers.camera.openers import make_opener
from agent.drivers.camera.source import parse_source

# Generated test devices, not recordings of real hardware.
DEVICES = """\
P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/video4linux/video0
N: video0
E: DEVNAME=/dev/video0
E: MAJOR=81
E: MINOR=0
E: SUBSYSTEM=video4linux
E: ID_V4L_CAPABILITIES=:capture:
E: ID_V4L_PRODUCT=Generated Test Camera
E: ID_SERIAL=Generated_Test_Camera_0001

P: /devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1:1.0/video4linux/video1
N: video1
E: DEVNAME=/dev/video1
E: MAJOR=81
E: MINOR=1
E: SUBSYSTEM=video4linux
E: ID_V4L_CAPABILITIES=:
E: ID_V4L_PRODUCT=Generated Test Camera
E: ID_SERIAL=Generated_Test_Camera_0001
"""

PROBE = """\
import json
from agent.drivers.camera.udev import find_by_serial, list_cameras
print(json.dumps({
    "cameras": [[d.node, d.serial, d.product, d.capture] for d in list_cameras()],
    "found": find_by_serial("Generated_Test_Camera_0001"),
    "missing": find_by_serial("no-such-serial"),
}))
"""


def test_capture_nodes_are_found_by_serial(tmp_path: Path) -> None:
    runner = shutil.which("umockdev-run")
    if runner is None:
        pytest.fail("umockdev-run missing: install the Debian package umockdev")
    devices = tmp_path / "cameras.umockdev"
    devices.write_text(DEVICES)
    repo = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [runner, "-d", str(devices), "--", sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=repo,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    # The metadata node (no :capture:) is not a camera.
    assert result["cameras"] == [["/dev/video0", "Generated_Test_Camera_0001", "Generated Test Camera", True]]
    assert result["found"] == "/dev/video0"
    assert result["missing"] is None


def test_the_watcher_hears_a_camera_plugged_in_and_survives_a_failing_callback() -> None:
    wrapper = shutil.which("umockdev-wrapper")
    if wrapper is None or not Path("/usr/bin/python3").is_file():
        pytest.fail("umockdev-wrapper or /usr/bin/python3 missing: install umockdev gir1.2-umockdev-1.0 python3-gi")
    # The venv's site-packages, where the Debian python finds pyudev.
    site = str(Path(pyudev.__file__).resolve().parents[1])
    repo = Path(__file__).resolve().parents[2]
    probe = Path(__file__).with_name("udev_watch_probe.py")
    done = subprocess.run(
        [wrapper, "/usr/bin/python3", str(probe), str(repo), site],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    # Two "add" events (the testbed announces the device, then the explicit uevent); the first callback
    # raised, the second still arrived.
    assert seen == [["add", "/dev/video0", "Generated_Test_Camera_0002", True]] * 2
    assert "a callback bug" in done.stderr  # logged, not swallowed


def test_an_unplugged_usb_camera_is_a_capture_error() -> None:
    # On this machine (no fake sysfs) no camera has the serial: the grabber gets an error to retry on.
    opener = make_opener(
        parse_source("usb:Generated_Test_Camera_0001"), base_dir=Path(), timeouts=Timeouts(), loop=False
    )
    with pytest.raises(CaptureError, match="no video capture device with serial"):
        opener()
