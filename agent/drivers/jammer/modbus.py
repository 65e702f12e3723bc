"""Jammers on Modbus: a configured register map (``modbus-jammer``), or a jammer's dry contacts wired to a
Modbus digital-input module (``contact-jammer``).  Both speak RTU on a serial line — or on any pyserial URL
such as ``socket://10.0.0.7:4001`` for a serial server — or Modbus TCP.

A poll reads the map in as few requests as it can and stops at the first failure, so a dead device costs
one ``timeout_s`` per poll, not one per register.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from agent.drivers.jammer.modbus_io import ModbusLink, ModbusTarget
from agent.drivers.jammer.polled import PolledJammer, PolledJammerConfig
from agent.drivers.jammer.reading import BandName, JammerReading, check_names_unique
from agent.drivers.jammer.regmap import (
    Address,
    BandPoint,
    Bands,
    FaultPoint,
    Faults,
    RegisterMap,
    TemperaturePoint,
    decode,
    plan,
    spread,
)
from agent.errors import DriverError


class ModbusConnection(PolledJammerConfig, frozen=True, kw_only=True):
    transport: Literal["rtu", "tcp"] = "rtu"
    # rtu: the serial device (/dev/ttyUSB0, /dev/serial/by-id/…) or a pyserial URL (socket://host:port).
    port: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    baudrate: Annotated[int, Meta(ge=1200, le=921600)] = 9600
    parity: Literal["N", "E", "O"] = "N"
    stopbits: Literal[1, 2] = 1
    # tcp: the device or gateway.
    host: Annotated[str, Meta(min_length=1, max_length=253)] | None = None
    tcp_port: Annotated[int, Meta(ge=1, le=65535)] = 502
    # The Modbus device id (slave address, unit id) on the bus.
    unit: Annotated[int, Meta(ge=0, le=247)] = 1
    timeout_s: Annotated[float, Meta(ge=0.05, le=10)] = 0.5

    def __post_init__(self) -> None:
        if self.transport == "rtu" and (self.port is None or self.host is not None):
            raise ValueError("transport 'rtu' needs port (and no host)")
        if self.transport == "tcp" and (self.host is None or self.port is not None):
            raise ValueError("transport 'tcp' needs host (and no port)")

    def target(self) -> ModbusTarget:
        where = self.host if self.transport == "tcp" else self.port
        assert where is not None
        return ModbusTarget(
            transport=self.transport,
            where=where,
            unit=self.unit,
            timeout_s=self.timeout_s,
            tcp_port=self.tcp_port,
            baudrate=self.baudrate,
            parity=self.parity,
            stopbits=self.stopbits,
        )

    def register_map(self) -> RegisterMap:
        raise NotImplementedError


class ModbusJammerConfig(ModbusConnection, frozen=True, kw_only=True):
    driver: Literal["modbus-jammer"] = "modbus-jammer"
    # The register map's keys, at the top level of the device's table (see RegisterMap).
    bands: Bands
    faults: Faults = msgspec.field(default_factory=list)
    temperature: TemperaturePoint | None = None
    max_temp_c: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_names_unique([b.name for b in self.bands], [f.name for f in self.faults])

    def register_map(self) -> RegisterMap:
        return RegisterMap(
            bands=self.bands, faults=self.faults, temperature=self.temperature, max_temp_c=self.max_temp_c
        )


class ContactJammerConfig(ModbusConnection, frozen=True, kw_only=True):
    driver: Literal["contact-jammer"] = "contact-jammer"
    # Band → the input its contact is wired to (0-based, as on the module's Modbus map).
    inputs: Annotated[dict[BandName, Address], Meta(min_length=1, max_length=16)]
    table: Literal["discrete", "coil"] = "discrete"
    # Normally-closed contacts: an open contact means the band is on.
    active_low: bool = False
    # An input wired to the jammer's alarm contact, if it has one.
    fault_input: Address | None = None

    def register_map(self) -> RegisterMap:
        bands = [
            BandPoint(name=band, table=self.table, address=address, invert=self.active_low)
            for band, address in self.inputs.items()
        ]
        faults = []
        if self.fault_input is not None:
            faults.append(FaultPoint(name="alarm_contact", table=self.table, address=self.fault_input))
        return RegisterMap(bands=bands, faults=faults)


class ModbusJammer(PolledJammer[ModbusConnection]):
    """Serves both configs: a dry-contact module is a register map of discrete inputs."""

    def __init__(self, config: ModbusConnection) -> None:
        super().__init__(config)
        self._map = config.register_map()
        self._blocks = plan(self._map.cells())
        self._link: ModbusLink | None = None

    def open(self) -> None:
        if self._link is None:
            self._link = ModbusLink(self.config.target())

    def read(self) -> JammerReading:
        if self._link is None:
            raise DriverError(f"jammer {self.config.id} is not open")
        results = [self._link.read(block) for block in self._blocks]
        return decode(self._map, spread(self._blocks, results))

    def shut(self) -> None:
        link, self._link = self._link, None
        if link is not None:
            link.close()
