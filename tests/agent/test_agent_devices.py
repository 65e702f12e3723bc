"""DeviceSlot: a driver that fails to start is reported as a fault and retried later."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from agent.devices import DeviceSlot
from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.errors import DriverError
from protocol.messages import DeviceState

NOW = datetime(2026, 5, 17, tzinfo=UTC)


class _Config(DeviceConfig):
    driver: Literal["late"] = "late"


class LateDriver(Driver[_Config]):
    """Fails to start until told otherwise."""

    kind = "idcard"

    def __init__(self) -> None:
        super().__init__(_Config(id="reader-1"))
        self.can_start = False
        self.starts = 0

    def start(self) -> None:
        self.starts += 1
        if not self.can_start:
            raise DriverError("/dev/ttyUSB0: no such device")

    def poll(self, now: datetime) -> DeviceState:
        return self.state("ok", {})

    def events(self) -> list[DriverEvent]:
        return []

    def close(self) -> None:
        pass


def test_failed_start_is_a_fault_and_is_retried_after_the_delay() -> None:
    driver = LateDriver()
    slot = DeviceSlot(driver, retry_start_s=30.0)
    slot.start(monotonic=0.0)
    state = slot.poll(NOW, monotonic=1.0)
    assert (state.status, state.details) == ("fault", {"error": "start failed: /dev/ttyUSB0: no such device"})
    assert (state.kind, state.id) == ("idcard", "reader-1")
    driver.can_start = True
    assert slot.poll(NOW, monotonic=29.0).status == "fault", "no retry before the delay"
    assert driver.starts == 1
    assert slot.poll(NOW, monotonic=30.0).status == "ok"
    assert driver.starts == 2
    assert slot.errors == 1
