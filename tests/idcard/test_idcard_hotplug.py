"""Hotplug through umockdev: a fake udev whose CH340 is plugged in, pulled out and plugged back.

The scenario runs in a subprocess under ``umockdev-wrapper`` (umockdev_hotplug.py beside this file);
this test checks its milestones and feeds the "removed" state to the hub's reader rule.  Also here: the
pyudev callback never raises, whatever device it is handed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from idcard_helpers import scenario_env, umockdev_or_skip

from agent.drivers.serial_hotplug import TtyWatcher
from hub.calendar import RequiredState
from hub.rules.idcard import MISSING, reader_findings
from hub.rules.jammer import DeviceSeen

HERE = Path(__file__).resolve().parent


def _run_scenario(tmp_path: Path) -> tuple[dict[str, dict[str, Any]], str]:
    wrapper = umockdev_or_skip()
    key = tmp_path / "exam.key"
    key.write_bytes(b"umockdev-generated-test-key-0001")
    env = scenario_env()
    done = subprocess.run(
        [wrapper, sys.executable, str(HERE / "umockdev_hotplug.py"), str(key)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    steps = {}
    for line in done.stdout.splitlines():
        record = json.loads(line)
        steps[record["step"]] = record
    assert done.returncode == 0, f"scenario failed ({done.returncode}): {done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return steps, done.stdout + done.stderr


def test_add_brings_the_reader_online_and_remove_makes_it_missing(tmp_path: Path) -> None:
    steps, output = _run_scenario(tmp_path)
    absent = steps["absent"]
    assert absent["status"] == "offline"
    assert absent["details"]["hotplug"] == "udev"

    online = steps["online"]["details"]
    assert steps["online"]["status"] == "ok"
    assert online["port"] == "/dev/ttyUSB0"
    assert online["sam_id"] == "05.01-20240517-0000000777-0000000888"

    checkin = steps["checkin"]["details"]
    assert checkin["result"] == "ok"
    assert checkin["masked"] == steps["checkin"]["masked_expected"]
    assert len(checkin["candidate"]) == 64

    removed = steps["removed"]
    assert removed["status"] == "offline"
    assert removed["details"]["state"] == "absent"
    assert removed["lost"]["reason"] == "device removed"
    assert removed["details"]["sam_id"] == online["sam_id"]  # the last known identity stays on the record

    assert steps["replugged"]["details"]["state"] == "ready"
    assert steps["enumerated"]["details"]["state"] == "ready"
    for step in ("online", "removed", "replugged", "enumerated"):
        assert steps[step]["details"]["udev_callback_errors"] == 0

    # The raw identity never left the driver: only the final line (the test's own list) holds it.
    secrets = steps.pop("done")["secrets"]
    rest = json.dumps(steps, ensure_ascii=False) + output.split('{"step": "done"')[0]
    for secret in secrets:
        assert secret not in rest

    # The hub's rule turns the removed reader into "reader missing": critical in a check-in window.
    seen = DeviceSeen(
        kind="idcard",
        id="reader-101",
        room="101",
        status=removed["status"],
        details=removed["details"],
        seen_at=datetime.now(UTC),
    )
    now = datetime.now(UTC)
    [finding] = reader_findings("jinan/s01", "101", _required(now, readers=True), [seen], now)
    assert (finding.kind, finding.severity, finding.device_id) == (MISSING, "critical", "reader-101")
    [finding] = reader_findings("jinan/s01", "101", _required(now, readers=False), [seen], now)
    assert finding.severity == "warning"


def _required(at: datetime, *, readers: bool) -> RequiredState:
    return RequiredState(
        at=at,
        jammer="off",
        readers=readers,
        vault=False,
        phase="checkin" if readers else "idle",
        session=None,
        next_change=None,
    )


class _BrokenDevice:
    @property
    def action(self) -> str:
        raise RuntimeError("udev handed us something odd")


class _NoNode:
    action = "add"
    device_node = None


def test_the_udev_callback_never_raises_and_counts_what_it_could_not_use() -> None:
    watcher = TtyWatcher()
    watcher._on_device(_BrokenDevice())
    watcher._on_device(None)
    watcher._on_device(_NoNode())
    assert watcher.callback_errors == 2
    assert watcher.drain() == []
