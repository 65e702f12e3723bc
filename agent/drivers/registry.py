"""Which ``driver`` tag selects which config and driver class.

A new driver adds its config class to :data:`AnyDeviceConfig` and one line to :data:`REGISTRY`; the
config file then accepts its tag and validates its keys, and nothing else changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import Field

from agent.drivers.base import DeviceConfig, Driver
from agent.drivers.camera.config import CameraConfig
from agent.drivers.camera.driver import CameraDriver
from agent.drivers.idcard.driver import IdcardSam, IdcardSamConfig
from agent.drivers.jammer.httpjson import HttpJammer, HttpJammerConfig
from agent.drivers.jammer.modbus import ContactJammerConfig, ModbusJammer, ModbusJammerConfig
from agent.drivers.probe.driver import CellProbe, CellProbeConfig
from agent.drivers.sim.camera import SimCamera, SimCameraConfig
from agent.drivers.sim.idcard import SimIdcard, SimIdcardConfig
from agent.drivers.sim.jammer import SimJammer, SimJammerConfig

AnyDeviceConfig = Annotated[
    SimCameraConfig
    | SimIdcardConfig
    | SimJammerConfig
    | IdcardSamConfig
    | ModbusJammerConfig
    | ContactJammerConfig
    | HttpJammerConfig
    | CellProbeConfig
    | CameraConfig,
    Field(discriminator="driver"),
]


@dataclass(frozen=True, slots=True)
class DriverEntry:
    config: type[DeviceConfig]
    driver: type[Driver[Any]]


REGISTRY: Final[dict[str, DriverEntry]] = {
    "sim-camera": DriverEntry(SimCameraConfig, SimCamera),
    "sim-idcard": DriverEntry(SimIdcardConfig, SimIdcard),
    "sim-jammer": DriverEntry(SimJammerConfig, SimJammer),
    "camera": DriverEntry(CameraConfig, CameraDriver),
    "modbus-jammer": DriverEntry(ModbusJammerConfig, ModbusJammer),
    "contact-jammer": DriverEntry(ContactJammerConfig, ModbusJammer),
    "http-jammer": DriverEntry(HttpJammerConfig, HttpJammer),
    "at-probe": DriverEntry(CellProbeConfig, CellProbe),
    "idcard-sam": DriverEntry(IdcardSamConfig, IdcardSam),
}


def create_driver(config: DeviceConfig, base_dir: Path | None = None) -> Driver[Any]:
    entry = REGISTRY.get(config.driver)
    if entry is None or not isinstance(config, entry.config):
        raise KeyError(f"no driver registered for {config.driver!r} with config {type(config).__name__}")
    if entry.driver.uses_base_dir:
        return entry.driver(config, base_dir=base_dir)  # type: ignore[call-arg]  # such drivers take it
    return entry.driver(config)
