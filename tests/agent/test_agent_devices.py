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


class TooChattyDriver(LateDriver):
    """Starts, then reports more details than a state may carry (msgspec checks none as it is built)."""

    def __init__(self) -> None:
        super().__init__()
        self.can_start = True
        self.keys = 65

    def poll(self, now: datetime) -> DeviceState:
        return self.state("ok", {f"k{i}": i for i in range(self.keys)})


def test_a_state_that_does_not_fit_the_wire_is_a_fault_not_a_lost_message() -> None:
    driver = TooChattyDriver()
    slot = DeviceSlot(driver)
    slot.start(monotonic=0.0)
    state = slot.poll(NOW, monotonic=1.0)
    assert (state.status, state.kind, state.id) == ("fault", "idcard", "reader-1")
    assert state.details == {"error": "invalid state: Expected `object` of length <= 64 - at `$.details`"}
    driver.keys = 64
    assert slot.poll(NOW, monotonic=2.0).status == "ok"
