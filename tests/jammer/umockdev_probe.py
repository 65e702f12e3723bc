"""Run under ``umockdev-wrapper`` by test_probe_hotplug.py: a fake udev where a Quectel modem comes and goes.

umockdev's testbed gives pyudev a fake sysfs and pty-backed ttys; the modem simulator answers on the
pty's master side.  Beside the modem sits a CH340 serial adapter (an ID-card reader's bridge) that the
probe must leave alone.  The at-probe driver finds the modem by USB id through real pyudev enumeration and
monitoring.  Each milestone is printed as one JSON line for the test to check.

gi (the testbed's bindings) comes from Debian's python3 packages, outside the venv: its folder is
appended to ``sys.path`` so the venv's own packages still win.
"""

from __future__ import annotations

import json
import sys
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

sys.path.append("/usr/lib/python3/dist-packages")

with warnings.catch_warnings():
    # gi's own importer warns about itself (ImportWarning); that is Debian's business, not ours.
    warnings.simplefilter("ignore", ImportWarning)
    import gi

    gi.require_version("UMockdev", "1.0")
    from gi.repository import UMockdev
# Everything of ours (pyudev use included) runs with warnings as errors, as under pytest.
warnings.simplefilter("error")

from agent.drivers.probe.driver import CellProbe, CellProbeConfig  # noqa: E402
from agent.simulators.modem import ModemSimulator  # noqa: E402
from protocol.messages import DeviceState  # noqa: E402

MODEM = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-3/1-3:1.2/ttyUSB2/tty/ttyUSB2"
MODEM_RECORD = f"""P: {MODEM.removeprefix("/sys")}
N: ttyUSB2
E: SUBSYSTEM=tty
E: DEVNAME=/dev/ttyUSB2
E: ID_VENDOR_ID=2c7c
E: ID_MODEL_ID=0125
E: DEVLINKS=/dev/serial/by-id/usb-Quectel_EC25-if02-port0
"""
BRIDGE_RECORD = """P: /devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0
N: ttyUSB0
E: SUBSYSTEM=tty
E: DEVNAME=/dev/ttyUSB0
E: ID_VENDOR_ID=1a86
E: ID_MODEL_ID=7523
E: DEVLINKS=/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0
"""


def say(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}, default=str), flush=True)


class Driven:
    def __init__(self) -> None:
        config = CellProbeConfig(
            id="probe-101",
            room="101",
            usb_ids=["2c7c:0125"],
            interval_s=0.05,
            reply_timeout_s=0.2,
            window_s=0.5,
            reopen_after_s=0.2,
            find_interval_s=5.0,  # long: coming up must be udev's doing, not a periodic look
        )
        self.driver = CellProbe(config)
        self.driver.start()

    def until(
        self, condition: Callable[[DeviceState], bool], what: str, timeout: float = 8.0
    ) -> tuple[float, DeviceState]:
        began = time.monotonic()
        while True:
            try:
                state = self.driver.poll(datetime.now(UTC))
            except Exception as exc:  # a fault on the way is fine; only the outcome counts
                say("poll_error", error=str(exc))
                state = None
            if state is not None and condition(state):
                return time.monotonic() - began, state
            if time.monotonic() - began > timeout:
                say("timeout", what=what, details=None if state is None else state.details)
                raise SystemExit(3)
            time.sleep(0.02)


def main() -> int:
    testbed = UMockdev.Testbed.new()
    testbed.add_device("usb", "usb1/1-3", None, ["idVendor", "2c7c", "idProduct", "0125"],
                       ["DEVTYPE", "usb_device", "ID_VENDOR_ID", "2c7c", "ID_MODEL_ID", "0125"])  # fmt: skip
    testbed.add_device("usb", "usb1/1-2", None, ["idVendor", "1a86", "idProduct", "7523"],
                       ["DEVTYPE", "usb_device", "ID_VENDOR_ID", "1a86", "ID_MODEL_ID", "7523"])  # fmt: skip
    if not testbed.add_from_string(BRIDGE_RECORD):
        say("error", what="umockdev refused the bridge record")
        return 2

    # 1. Only the CH340 is there: the probe does not take it, and says the modem is absent.
    first = Driven()
    _, state = first.until(lambda s: s.details.get("error") == "no candidate port present", "absent at start")
    say("absent", status=state.status, details=state.details)

    # 2. Plug the modem in: udev's add brings the probe up, and the simulator behind the pty answers.
    if not testbed.add_from_string(MODEM_RECORD):
        say("error", what="umockdev refused the modem record")
        return 2
    sim = ModemSimulator("normal", master_fd=testbed.get_dev_fd("/dev/ttyUSB2"))
    try:
        took, state = first.until(lambda s: s.details["registered"] is True, "online after add")
        say("online", status=state.status, details=state.details, took=took)
        took, state = first.until(lambda s: s.details["verdict"] == "not_suppressed", "a verdict")
        say("verdict", status=state.status, details=state.details)

        # 3. Pull it out: remove makes the probe offline ("modem absent") at once.
        testbed.uevent(MODEM, "remove")
        took, state = first.until(lambda s: s.status == "offline", "offline after remove", timeout=3.0)
        say("removed", status=state.status, details=state.details, took=took)

        # 4. Plug it back.
        testbed.uevent(MODEM, "add")
        took, state = first.until(lambda s: s.status == "ok" and s.details["registered"] is True, "online again")
        say("replugged", status=state.status, details=state.details, took=took)
        first.driver.close()

        # 5. A modem already plugged in when the agent starts is found by enumeration alone.
        second = Driven()
        took, state = second.until(lambda s: s.details["registered"] is True, "online at start")
        say("enumerated", status=state.status, details=state.details, took=took)
        second.driver.close()
    finally:
        sim.close()
    say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
