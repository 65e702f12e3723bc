"""What every jammer driver reports, whatever the wire: declared band states, faults, a temperature."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from agent.drivers.base import DriverEvent
from protocol.messages import DeviceStatus, Scalar
from protocol.validation import full

BandState = Literal["on", "off", "unknown"]
BandName = Annotated[str, full(r"^[a-z0-9]{1,16}$")]
FaultName = Annotated[str, full(r"^[a-z0-9_]{1,32}$")]


def check_names_unique(bands: Sequence[str], faults: Sequence[str]) -> None:
    """A configured map's check: raise ValueError if a band or a fault name repeats."""
    for kind, names in (("band", bands), ("fault", faults)):
        if len(set(names)) != len(names):
            raise ValueError(f"{kind} names must not repeat")


@dataclass(frozen=True, slots=True)
class JammerReading:
    bands: dict[str, BandState]
    faults: tuple[str, ...] = ()
    temp_c: float | None = None
    details_extra: dict[str, Scalar] = field(default_factory=dict)

    @property
    def status(self) -> DeviceStatus:
        return "fault" if self.faults else "ok"

    def details(self) -> dict[str, Scalar]:
        out: dict[str, Scalar] = {f"band_{band}": state for band, state in self.bands.items()}
        out["fault"] = bool(self.faults)
        out["faults"] = ",".join(self.faults)
        # Whole degrees: a state message goes out on every change, and tenths would change every poll.
        out["temp_c"] = None if self.temp_c is None else round(self.temp_c)
        out.update(self.details_extra)
        return out


def changes(before: JammerReading | None, after: JammerReading, now: datetime) -> list[DriverEvent]:
    """Events for what changed between two readings; none for the first (nothing changed, it was first seen)."""
    if before is None:
        return []
    events: list[DriverEvent] = []
    for band, state in after.bands.items():
        was = before.bands.get(band)
        if was is not None and was != state:
            # Info only: whether a band should be on depends on the calendar, which the hub applies.
            events.append(DriverEvent(f"jammer.band_{state}", "info", now, {"band": band, "was": was}))
    for fault in after.faults:
        if fault not in before.faults:
            events.append(DriverEvent("jammer.fault", "warning", now, {"fault": fault}))
    for fault in before.faults:
        if fault not in after.faults:
            events.append(DriverEvent("jammer.fault_cleared", "info", now, {"fault": fault}))
    return events
