"""Shared by the ID-card tests: the simulated SAM's identity, fast driver timings, and a driver watcher.

Every identity used in these tests comes from ``generated_test_cards`` (random, check character correct,
names ``测试人员NN``): no real person's data appears in any test.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.drivers.base import DriverEvent
from agent.drivers.idcard.checkin import card_day
from agent.drivers.idcard.driver import IdcardSam
from agent.drivers.idcard.replies import encode_sam_id, format_sam_id
from protocol.messages import DeviceState

SAM_BYTES = encode_sam_id(5, 1, 20240517, 4321, 98765)
SAM_ID = format_sam_id(SAM_BYTES)
# Short timings keep each fault test well under a second.
FAST: dict[str, Any] = {
    "hotplug": False,
    "timeout_s": 0.15,
    "read_timeout_s": 0.6,
    "find_interval_s": 0.03,
    "status_interval_s": 0.5,
    "retry_s": 0.1,
    "max_failures": 2,
    "same_card_quiet_s": 0.0,
}


ROOT = Path(__file__).resolve().parents[2]
GI = Path("/usr/lib/python3/dist-packages/gi")


def umockdev_or_skip() -> str:
    """The path of ``umockdev-wrapper``, which the hotplug scenarios run under."""
    wrapper = shutil.which("umockdev-wrapper")
    if wrapper is not None and GI.is_dir():
        return wrapper
    # deploy/run.sh installs umockdev, gir1.2-umockdev-1.0 and python3-gi: in CI their absence is a failure.
    if os.environ.get("CI"):
        pytest.fail("umockdev-wrapper or python3-gi is missing (Debian: umockdev gir1.2-umockdev-1.0 python3-gi)")
    pytest.skip("umockdev-wrapper or python3-gi is not installed")


def scenario_env() -> dict[str, str]:
    """The environment of a scenario subprocess: the repository importable, whatever the current folder."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def today() -> date:
    return card_day(datetime.now(UTC))


class Watch:
    """Polls a driver as the agent would, keeping every event, until the state satisfies a condition."""

    def __init__(self, driver: IdcardSam) -> None:
        self.driver = driver
        self.events: list[DriverEvent] = []
        self.state: DeviceState | None = None

    def poll(self) -> DeviceState:
        self.state = self.driver.poll(datetime.now(UTC))
        self.events += self.driver.events()
        return self.state

    def until(self, condition: Callable[[DeviceState], bool], what: str, timeout: float = 4.0) -> DeviceState:
        deadline = time.monotonic() + timeout
        while True:
            state = self.poll()
            if condition(state):
                return state
            if time.monotonic() > deadline:
                raise AssertionError(f"{what}: not within {timeout} s; last state {state.status} {state.details}")
            time.sleep(0.02)

    def in_state(self, name: str, timeout: float = 4.0) -> DeviceState:
        return self.until(lambda s: s.details.get("state") == name, f"state {name}", timeout)

    def event(self, name: str, timeout: float = 4.0, **details: Any) -> DriverEvent:
        deadline = time.monotonic() + timeout
        while True:
            for event in self.events:
                if event.name == name and all(event.details.get(k) == v for k, v in details.items()):
                    return event
            if time.monotonic() > deadline:
                seen = [(e.name, e.details.get("code")) for e in self.events]
                raise AssertionError(f"no {name} {details} within {timeout} s; saw {seen}")
            self.poll()
            time.sleep(0.02)

    def named(self, name: str) -> list[DriverEvent]:
        return [e for e in self.events if e.name == name]
