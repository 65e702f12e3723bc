"""The cellular probe found through udev, as readers are: umockdev plugs a modem in, pulls it out and plugs
it back, beside a USB-serial bridge the probe must not take.

The scenario runs in a subprocess under ``umockdev-wrapper`` (umockdev_probe.py beside this file); this
test checks its milestones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.drivers.probe.driver import CellProbeConfig
from agent.drivers.serial_hotplug import CandidateRule, TtyDevice, TtyWatcher, candidates
from protocol.validation import Problem, convert, problem

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
GI = Path("/usr/lib/python3/dist-packages/gi")
WRAPPER = shutil.which("umockdev-wrapper")


def _umockdev_or_skip() -> str:
    if WRAPPER is not None and GI.is_dir():
        return WRAPPER
    # deploy/run.sh installs umockdev, gir1.2-umockdev-1.0 and python3-gi: in CI their absence is a failure.
    if os.environ.get("CI"):
        pytest.fail("umockdev-wrapper or python3-gi is missing (Debian: umockdev gir1.2-umockdev-1.0 python3-gi)")
    pytest.skip("umockdev-wrapper or python3-gi is not installed")


def test_the_modem_is_found_plugged_and_unplugged(tmp_path: Path) -> None:
    wrapper = _umockdev_or_skip()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [wrapper, sys.executable, str(HERE / "umockdev_probe.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    steps: dict[str, dict[str, Any]] = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        steps[record["step"]] = record
    assert done.returncode == 0, f"scenario failed ({done.returncode}): {done.stdout[-2000:]}\n{done.stderr[-2000:]}"

    absent = steps["absent"]
    assert absent["status"] == "offline"
    assert absent["details"]["hotplug"] == "udev"
    assert absent["details"]["port"] is None, "the CH340 beside it was not taken"

    online = steps["online"]
    assert online["status"] == "ok"
    assert online["details"]["port"] == "/dev/ttyUSB2"
    # The periodic look is 5 s away: only udev's add event can have brought it up this soon.
    assert online["took"] < 4.0
    assert steps["verdict"]["details"]["verdict"] == "not_suppressed"

    removed = steps["removed"]
    assert removed["status"] == "offline"
    assert (removed["details"]["verdict"], removed["details"]["reason"]) == ("unknown", "modem absent")
    assert removed["took"] < 3.0
    assert removed["details"]["port"] is None

    assert steps["replugged"]["status"] == "ok"
    assert steps["replugged"]["details"]["port"] == "/dev/ttyUSB2"
    assert steps["enumerated"]["details"]["port"] == "/dev/ttyUSB2"
    assert "done" in steps


def test_candidates_pick_the_modem_by_usb_id_or_by_id_glob() -> None:
    modem = TtyDevice("/dev/ttyUSB2", ("/dev/serial/by-id/usb-Quectel_EC25-if02-port0",), "2c7c:0125")
    diag = TtyDevice("/dev/ttyUSB0", ("/dev/serial/by-id/usb-Quectel_EC25-if00-port0",), "2c7c:0125")
    bridge = TtyDevice("/dev/ttyUSB1", ("/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0",), "1a86:7523")
    by_id = CellProbeConfig(id="p", port="/dev/serial/by-id/usb-Quectel_*-if02*").rule()
    assert candidates(by_id, [bridge, diag, modem], []) == ["/dev/serial/by-id/usb-Quectel_EC25-if02-port0"]
    by_usb = CellProbeConfig(id="p", usb_ids=["2c7c:0125"]).rule()
    assert candidates(by_usb, [bridge, modem, diag], []) == ["/dev/ttyUSB0", "/dev/ttyUSB2"]
    both = CandidateRule(ports=("/dev/serial/by-id/*-if02*",), usb_ids=("2c7c:0125",))
    assert candidates(both, [bridge, diag, modem], []) == ["/dev/serial/by-id/usb-Quectel_EC25-if02-port0"]
    # A pty (no udev record) is taken by path, but not by a rule that asks for a USB id.
    assert candidates(CandidateRule(ports=("/dev/pts/*",)), [], ["/dev/pts/4"]) == ["/dev/pts/4"]
    assert candidates(by_usb, [], ["/dev/pts/4"]) == []


def test_probe_config_needs_a_way_to_find_the_modem() -> None:
    with pytest.raises(ValueError, match="needs `port`"):
        CellProbeConfig(id="p")
    with pytest.raises(ValueError, match="cannot narrow a pyserial URL"):
        CellProbeConfig(id="p", port="socket://127.0.0.1:5000", usb_ids=["2c7c:0125"])
    assert CellProbeConfig(id="p", port="socket://127.0.0.1:5000").url == "socket://127.0.0.1:5000"
    assert CellProbeConfig(id="p", port="/dev/ttyUSB2").url is None
    with pytest.raises(msgspec.ValidationError) as caught:
        convert({"driver": "at-probe", "id": "p", "usb_ids": ["2C7C:0125"]}, CellProbeConfig)
    assert problem(caught.value, "devices[0]").path == "devices[0].usb_ids[0]"  # lower-case hex, as udev has it
    with pytest.raises(msgspec.ValidationError) as caught:
        convert({"driver": "at-probe", "id": "p", "port": "/dev/ttyUSB2", "rsrp_dead_dbm": -100}, CellProbeConfig)
    assert problem(caught.value, "devices[0]") == Problem(
        "devices[0]", "rsrp_dead_dbm must not be above rsrp_usable_dbm", "invalid"
    )


class _BrokenDevice:
    @property
    def action(self) -> str:
        raise RuntimeError("udev handed us something odd")


def test_the_udev_callback_never_raises() -> None:
    watcher = TtyWatcher()
    watcher._on_device(_BrokenDevice())
    watcher._on_device(None)
    assert watcher.callback_errors == 2
    assert watcher.drain() == []
