"""A jammer's Modbus register map, as configuration, and its decoding: no I/O.

There is no public register map for jammers, so every point is configured: which table (coil, discrete
input, holding or input register), which address, and for a register which bit or which value means
"on" / "active".  :func:`plan` groups the points into as few reads as the protocol allows; :func:`decode`
turns what was read into a :class:`~agent.drivers.jammer.reading.JammerReading`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Final, Literal

import msgspec

from agent.drivers.jammer.reading import BandName, BandState, FaultName, JammerReading, check_names_unique

Table = Literal["coil", "discrete", "holding", "input"]
BIT_TABLES: Final = frozenset({"coil", "discrete"})
# Protocol limits per request (Modbus application protocol v1.1b3, functions 1–4).
MAX_BITS: Final = 2000
MAX_REGISTERS: Final = 125
Address = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """A table inside a device's config: unknown keys refused, as in :class:`~agent.drivers.base.DeviceConfig`.

    Subclasses repeat ``frozen=True, kw_only=True``: msgspec inherits them, but mypy's dataclass view does not."""


class Point(_Strict, frozen=True, kw_only=True):
    table: Table
    address: Address
    # Registers only: the flag is this bit of the register (0 = least significant) ...
    bit: Annotated[int, msgspec.Meta(ge=0, le=15)] | None = None
    # ... or the register holding exactly this value means on / active (default: any nonzero value).
    on_value: Annotated[int, msgspec.Meta(ge=0, le=65535)] | None = None
    # Active-low: a closed contact or a set bit means off / not active.
    invert: bool = False

    def __post_init__(self) -> None:
        if self.table in BIT_TABLES and (self.bit is not None or self.on_value is not None):
            raise ValueError(f"bit and on_value apply to registers, not to a {self.table}")
        if self.bit is not None and self.on_value is not None:
            raise ValueError("give bit or on_value, not both")

    def active(self, raw: int) -> bool:
        if self.bit is not None:
            value = bool((raw >> self.bit) & 1)
        elif self.on_value is not None:
            value = raw == self.on_value
        else:
            value = raw != 0
        return value != self.invert


class BandPoint(Point, frozen=True, kw_only=True):
    name: BandName


class FaultPoint(Point, frozen=True, kw_only=True):
    name: FaultName


class TemperaturePoint(_Strict, frozen=True, kw_only=True):
    table: Literal["holding", "input"] = "input"
    address: Address
    scale: float = 1.0
    offset: float = 0.0
    signed: bool = True


# The map's keys as types, so a driver config that carries them at its top level (``modbus-jammer``:
# msgspec structs cannot inherit from two structs with fields) declares them exactly as the map does.
Bands = Annotated[list[BandPoint], msgspec.Meta(min_length=1, max_length=16)]
Faults = Annotated[list[FaultPoint], msgspec.Meta(max_length=32)]


class RegisterMap(_Strict, frozen=True, kw_only=True):
    bands: Bands
    faults: Faults = msgspec.field(default_factory=list)
    temperature: TemperaturePoint | None = None
    # Above this the module is reported with an "overtemp" fault even if no fault bit is set.
    max_temp_c: float | None = None

    def __post_init__(self) -> None:
        check_names_unique([b.name for b in self.bands], [f.name for f in self.faults])

    def cells(self) -> list[tuple[Table, int]]:
        cells: list[tuple[Table, int]] = [(p.table, p.address) for p in (*self.bands, *self.faults)]
        if self.temperature is not None:
            cells.append((self.temperature.table, self.temperature.address))
        return cells


@dataclass(frozen=True, slots=True)
class Block:
    """One read request: ``count`` cells of ``table`` from ``start``."""

    table: Table
    start: int
    count: int


def plan(cells: Iterable[tuple[Table, int]]) -> list[Block]:
    """Cover ``cells`` with few reads: consecutive cells of one table share a read up to the protocol limit,
    and gaps of up to 8 cells are read through (one longer read beats two round trips on RS-485)."""
    blocks: list[Block] = []
    by_table: dict[Table, list[int]] = {}
    for table, address in cells:
        by_table.setdefault(table, []).append(address)
    for table in sorted(by_table):
        limit = MAX_BITS if table in BIT_TABLES else MAX_REGISTERS
        start = end = -1
        for address in sorted(set(by_table[table])):
            if start >= 0 and address - end <= 8 and address - start < limit:
                end = address
                continue
            if start >= 0:
                blocks.append(Block(table, start, end - start + 1))
            start = end = address
        blocks.append(Block(table, start, end - start + 1))
    return blocks


Values = Mapping[tuple[Table, int], int]


def spread(blocks: Sequence[Block], results: Sequence[Sequence[int]]) -> dict[tuple[Table, int], int]:
    """Values per cell from the results of :func:`plan`'s reads (bits as 0 / 1)."""
    out: dict[tuple[Table, int], int] = {}
    for block, values in zip(blocks, results, strict=True):
        for offset in range(block.count):
            out[(block.table, block.start + offset)] = int(values[offset])
    return out


def decode(regmap: RegisterMap, values: Values) -> JammerReading:
    bands: dict[str, BandState] = {}
    for band in regmap.bands:
        raw = values.get((band.table, band.address))
        bands[band.name] = "unknown" if raw is None else "on" if band.active(raw) else "off"
    faults = [f.name for f in regmap.faults if (raw := values.get((f.table, f.address))) is not None and f.active(raw)]
    temp = None
    point = regmap.temperature
    if point is not None and (raw := values.get((point.table, point.address))) is not None:
        if point.signed and raw >= 0x8000:
            raw -= 0x10000
        temp = raw * point.scale + point.offset
        if regmap.max_temp_c is not None and temp > regmap.max_temp_c and "overtemp" not in faults:
            faults.append("overtemp")
    return JammerReading(bands, tuple(faults), temp)
