"""A simulated signal jammer: one on/off flag per band, a module temperature, and a band that drops out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

from agent.drivers.base import Driver, DriverEvent
from agent.drivers.sim.common import SimConfig, fault_phase, noise, window
from agent.errors import DriverError
from protocol.messages import DeviceState, DeviceStatus, Scalar
from protocol.validation import full

TEMP_SLOT_S = 30.0
DEFAULT_BANDS = ("gsm900", "dcs1800", "lte1800", "lte2100", "nr3500", "wifi24")
BandName = Annotated[str, full(r"^[a-z0-9]{1,16}$")]


class SimJammerConfig(SimConfig, frozen=True, kw_only=True):
    driver: Literal["sim-jammer"] = "sim-jammer"
    bands: Annotated[list[BandName], msgspec.Meta(min_length=1, max_length=16)] = msgspec.field(
        default_factory=lambda: list(DEFAULT_BANDS)
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if len(set(self.bands)) != len(self.bands):
            raise ValueError("bands must not repeat")


class SimJammer(Driver[SimJammerConfig]):
    kind = "jammer"

    def __init__(self, config: SimJammerConfig) -> None:
        super().__init__(config)
        self._started = False
        self._off: str | None = None
        self._pending: list[DriverEvent] = []

    def start(self) -> None:
        self._started = True

    def poll(self, now: datetime) -> DeviceState:
        if not self._started:
            raise DriverError(f"jammer {self.config.id} polled before start")
        seed, dev, bands = self.config.seed, self.config.id, self.config.bands
        fault = fault_phase(self.config, now)
        off = None if fault is None else bands[int(noise(seed, dev, "band", fault[0]) * len(bands))]
        if off != self._off:
            if self._off is not None:
                self._pending.append(DriverEvent("jammer.band_on", "info", now, {"band": self._off}))
            if off is not None:
                self._pending.append(DriverEvent("jammer.band_off", "critical", now, {"band": off}))
            self._off = off
        # The wire's details are flat scalars, so the band map becomes one key per band.
        details: dict[str, Scalar] = {f"band_{band}": "off" if band == off else "on" for band in bands}
        details["temp_c"] = round(38.0 + 6.0 * noise(seed, dev, "temp", window(now, TEMP_SLOT_S)), 1)
        status: DeviceStatus = "ok" if off is None else "fault"
        return self.state(status, details)

    def events(self) -> list[DriverEvent]:
        drained, self._pending = self._pending, []
        return drained

    def close(self) -> None:
        self._started = False
