"""A simulated vault camera: people count, frame rate, brightness, and now and then a tampered lens."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from agent.drivers.base import Driver, DriverEvent
from agent.drivers.sim.common import SimConfig, fault_phase, noise, window
from agent.errors import DriverError
from protocol.messages import DeviceState, DeviceStatus

# Readings hold for a slot of device time, so a state message goes out when the scene changes, not every tick.
SCENE_S = 15.0


class SimCameraConfig(SimConfig, frozen=True, kw_only=True):
    driver: Literal["sim-camera"] = "sim-camera"


class SimCamera(Driver[SimCameraConfig]):
    kind = "camera"

    def __init__(self, config: SimCameraConfig) -> None:
        super().__init__(config)
        self._started = False
        self._tamper = "none"
        # None until the first poll: people already in the room at start-up did not just enter.
        self._people: int | None = None
        self._pending: list[DriverEvent] = []

    def start(self) -> None:
        self._started = True

    def poll(self, now: datetime) -> DeviceState:
        if not self._started:
            raise DriverError(f"camera {self.config.id} polled before start")
        seed, dev, slot = self.config.seed, self.config.id, window(now, SCENE_S)
        people = int(noise(seed, dev, "people", slot) * 4)
        fps = round(1.8 + 0.4 * noise(seed, dev, "fps", slot), 1)
        brightness = 90 + int(60 * noise(seed, dev, "brightness", slot))
        status: DeviceStatus = "ok"
        tamper = "none"
        fault = fault_phase(self.config, now)
        if fault is not None:
            # First a blurred picture, then a covered lens: the two tamper cases the real analysis tells apart.
            if fault[1] < 0.5:
                status, tamper = "warning", "defocused"
            else:
                status, tamper, brightness, people = "fault", "covered", 3, 0
        self._note_changes(now, tamper, people)
        return self.state(status, {"people": people, "fps": fps, "brightness": brightness, "tamper": tamper})

    def _note_changes(self, now: datetime, tamper: str, people: int) -> None:
        if tamper != self._tamper:
            if tamper == "none":
                self._pending.append(DriverEvent("camera.tamper_cleared", "info", now, {"was": self._tamper}))
            else:
                severity: Literal["warning", "critical"] = "critical" if tamper == "covered" else "warning"
                self._pending.append(DriverEvent("camera.tamper", severity, now, {"tamper": tamper}))
            self._tamper = tamper
        if people and self._people == 0:
            self._pending.append(DriverEvent("camera.people_entered", "info", now, {"people": people}))
        self._people = people

    def events(self) -> list[DriverEvent]:
        drained, self._pending = self._pending, []
        return drained

    def close(self) -> None:
        self._started = False
