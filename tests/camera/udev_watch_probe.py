"""Run under ``umockdev-wrapper /usr/bin/python3`` (gi's UMockdev is Debian's): plug a generated test
camera into a fake sysfs and print, as JSON, what :class:`agent.drivers.camera.udev.CameraWatcher` saw.

    argv: REPO SITE_PACKAGES   (the venv's, for pyudev, which is pure Python)

The first callback raises on purpose: pyudev's observer thread dies silently when a callback raises, so
the watcher must keep it alive for the second event.
"""

import json
import sys
import threading
import time

sys.path.insert(0, sys.argv[1])
sys.path.append(sys.argv[2])

import gi

gi.require_version("UMockdev", "1.0")
from gi.repository import UMockdev  # noqa: E402

from agent.drivers.camera.udev import CameraWatcher  # noqa: E402

seen = []
second = threading.Event()


def changed(action, device):
    seen.append([action, device.node, device.serial, device.capture])
    if len(seen) == 1:
        raise RuntimeError("a callback bug")
    second.set()


testbed = UMockdev.Testbed.new()
watcher = CameraWatcher(changed)
watcher.start()
time.sleep(0.2)
path = testbed.add_device(
    "video4linux",
    "video0",
    None,
    ["name", "Generated Test Camera\n"],
    ["DEVNAME", "/dev/video0", "ID_V4L_CAPABILITIES", ":capture:", "ID_SERIAL", "Generated_Test_Camera_0002"],
)
testbed.uevent(path, "add")
second.wait(5)
watcher.stop()
print(json.dumps(seen))
