"""A simulated ID-card reader: cards are read now and then, a few reads fail, and the SAM can fail."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from agent.drivers.base import Driver, DriverEvent
from agent.drivers.sim.common import SimConfig, fault_phase, noise, window
from agent.errors import DriverError
from protocol.messages import DeviceState, DeviceStatus, Scalar

# One chance of a card read per slot of device time.
READ_SLOT_S = 20.0
READ_CHANCE = 0.5
READ_OK_CHANCE = 0.9
# A clock jump must not make one poll replay years of reads.
MAX_CATCH_UP_SLOTS = 1000
SAM_FAULT = "SAM self-test failed (SW3 60)"


class SimIdcardConfig(SimConfig, frozen=True, kw_only=True):
    driver: Literal["sim-idcard"] = "sim-idcard"


class SimIdcard(Driver[SimIdcardConfig]):
    kind = "idcard"

    def __init__(self, config: SimIdcardConfig) -> None:
        super().__init__(config)
        self._started = False
        self._last_slot: int | None = None
        self._reads = 0
        self._failed = 0
        self._last_ok: bool | None = None
        self._sam_ok = True
        self._pending: list[DriverEvent] = []

    def start(self) -> None:
        self._started = True

    def poll(self, now: datetime) -> DeviceState:
        if not self._started:
            raise DriverError(f"reader {self.config.id} polled before start")
        sam_ok = fault_phase(self.config, now) is None
        if sam_ok != self._sam_ok:
            if sam_ok:
                self._pending.append(DriverEvent("idcard.sam_recovered", "info", now))
            else:
                self._pending.append(DriverEvent("idcard.sam_fault", "critical", now, {"error": SAM_FAULT}))
            self._sam_ok = sam_ok
        slot = window(now, READ_SLOT_S)
        if self._last_slot is not None and sam_ok:
            for past in range(max(self._last_slot + 1, slot - MAX_CATCH_UP_SLOTS), slot + 1):
                self._read_in(past, now)
        self._last_slot = slot if self._last_slot is None else max(slot, self._last_slot)
        details: dict[str, Scalar] = {
            "reads": self._reads,
            "failed": self._failed,
            "last_ok": self._last_ok,
            "sam": "ok" if sam_ok else SAM_FAULT,
        }
        status: DeviceStatus = "fault" if not sam_ok else "warning" if self._last_ok is False else "ok"
        return self.state(status, details)

    def _read_in(self, slot: int, now: datetime) -> None:
        seed, dev = self.config.seed, self.config.id
        if noise(seed, dev, "card", slot) >= READ_CHANCE:
            return
        ok = noise(seed, dev, "read-ok", slot) < READ_OK_CHANCE
        self._reads += 1
        self._last_ok = ok
        if not ok:
            self._failed += 1
            self._pending.append(DriverEvent("idcard.read_failed", "warning", now, {"sw3": "41"}))

    def events(self) -> list[DriverEvent]:
        drained, self._pending = self._pending, []
        return drained

    def close(self) -> None:
        self._started = False
