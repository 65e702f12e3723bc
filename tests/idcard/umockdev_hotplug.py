"""Run under ``umockdev-wrapper`` by test_idcard_hotplug.py: a fake udev with a CH340 that comes and goes.

umockdev's testbed gives pyudev a fake sysfs and a pty-backed ``/dev/ttyUSB0``; the SAM simulator answers
on the pty's master side.  The idcard-sam driver finds the reader by USB id through real pyudev
enumeration and monitoring.  Each milestone is printed as one JSON line for the test to check.

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
from pathlib import Path
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

from agent.drivers.base import DriverEvent  # noqa: E402
from agent.drivers.idcard.checkin import card_day  # noqa: E402
from agent.drivers.idcard.driver import IdcardSam, IdcardSamConfig  # noqa: E402
from agent.drivers.idcard.replies import encode_sam_id  # noqa: E402
from agent.drivers.idcard.sim.cards import generated_test_cards  # noqa: E402
from agent.drivers.idcard.sim.model import SamModel  # noqa: E402
from agent.drivers.idcard.sim.pty import PtySamReader  # noqa: E402
from protocol.messages import DeviceState  # noqa: E402

TTY = "/sys/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.0/ttyUSB0/tty/ttyUSB0"
TTY_RECORD = f"""P: {TTY.removeprefix("/sys")}
N: ttyUSB0
E: SUBSYSTEM=tty
E: DEVNAME=/dev/ttyUSB0
E: ID_VENDOR_ID=1a86
E: ID_MODEL_ID=7523
E: DEVLINKS=/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0
"""


def ch340_testbed() -> Any:
    """A umockdev testbed with a CH340 USB bridge (1a86:7523) and no tty yet: add ``TTY_RECORD`` to plug it in."""
    testbed = UMockdev.Testbed.new()
    testbed.add_device(
        "usb",
        "usb1/1-2",
        None,
        ["idVendor", "1a86", "idProduct", "7523"],
        ["DEVTYPE", "usb_device", "ID_VENDOR_ID", "1a86", "ID_MODEL_ID", "7523"],
    )
    return testbed


def say(step: str, **fields: Any) -> None:
    print(json.dumps({"step": step, **fields}, default=str), flush=True)


class Driven:
    def __init__(self, key_file: Path) -> None:
        config = IdcardSamConfig(
            id="reader-101",
            room="101",
            usb_ids=["1a86:7523"],
            hotplug=True,
            timeout_s=0.2,
            read_timeout_s=1.0,
            find_interval_s=0.03,
            retry_s=0.2,
            max_failures=2,
            key_file=str(key_file),
        )
        self.driver = IdcardSam(config)
        self.driver.start()
        self.events: list[DriverEvent] = []

    def until(self, condition: Callable[[DeviceState], bool], what: str, timeout: float = 8.0) -> DeviceState:
        deadline = time.monotonic() + timeout
        while True:
            state = self.driver.poll(datetime.now(UTC))
            self.events += self.driver.events()
            if condition(state):
                return state
            if time.monotonic() > deadline:
                say("timeout", what=what, details=state.details)
                raise SystemExit(3)
            time.sleep(0.02)

    def event(self, name: str) -> DriverEvent:
        self.until(lambda _s: any(e.name == name for e in self.events), f"event {name}")
        return next(e for e in self.events if e.name == name)


def main() -> int:
    key_file = Path(sys.argv[1])
    card = generated_test_cards(seed=99, count=1, today=card_day(datetime.now(UTC)))[0]
    testbed = ch340_testbed()

    # 1. Nothing plugged in: the driver enumerates, finds nothing, and says so.
    first = Driven(key_file)
    state = first.until(lambda s: s.details["error"] == "no candidate port present", "absent at start")
    say("absent", status=state.status, details=state.details)

    # 2. Plug in: the monitor's add brings the reader online, and the simulator behind the pty answers.
    if not testbed.add_from_string(TTY_RECORD):
        say("error", what="umockdev refused the tty record")
        return 2
    sim = PtySamReader(SamModel(encode_sam_id(5, 1, 20240517, 777, 888)), master_fd=testbed.get_dev_fd("/dev/ttyUSB0"))
    sim.start()
    try:
        state = first.until(lambda s: s.details["state"] == "ready", "online after add")
        say("online", status=state.status, details=state.details)
        sim.place(card)
        checkin = first.event("idcard.checkin")
        say("checkin", details=checkin.details, masked_expected=card.number[:2] + "*" * 12 + card.number[-4:])
        sim.remove()

        # 3. Pull it out: remove makes the reader absent ("reader missing").
        testbed.uevent(TTY, "remove")
        state = first.until(lambda s: s.details["state"] == "absent", "absent after remove")
        lost = first.event("idcard.reader_lost")
        say("removed", status=state.status, details=state.details, lost=lost.details)

        # 4. Plug it back.
        testbed.uevent(TTY, "add")
        state = first.until(lambda s: s.details["state"] == "ready", "online after re-add")
        say("replugged", status=state.status, details=state.details)
        first.driver.close()

        # 5. A reader already plugged in when the agent starts is found by enumeration alone.
        second = Driven(key_file)
        state = second.until(lambda s: s.details["state"] == "ready", "online at start")
        say("enumerated", status=state.status, details=state.details)
        second.driver.close()
    finally:
        sim.close()
    secrets = [card.number, card.name, card.address]
    say("done", secrets=secrets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
