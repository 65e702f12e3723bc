"""Which ``driver`` tag selects which config and driver class, importing a driver's module only when used.

Every tag is known here without importing anything: a config file naming an unknown tag is told the known
ones.  A driver's module (its config class and its driver, with whatever they import: serial ports,
HTTP, OpenCV) is imported the first time a config names its tag, so an agent with four cameras never
loads the ID-card, jammer and probe code (2.2 MB of its resident memory, measured for issue 5).

A new driver adds one line to :data:`REGISTRY`; the config file then accepts its tag and validates its keys
against its config class, and nothing else changes.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from agent.drivers.base import DeviceConfig, Driver
from protocol.validation import Problem, validated

TAG_KEY = "driver"


def _load(where: str) -> object:
    module, _, name = where.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True, slots=True)
class DriverEntry:
    """Where a driver's config class and driver class live, as ``module:Class``; imported when first asked."""

    config_class: str
    driver_class: str

    @property
    def config(self) -> type[DeviceConfig]:
        found = _load(self.config_class)
        if not (isinstance(found, type) and issubclass(found, DeviceConfig)):
            raise TypeError(f"{self.config_class} is not a DeviceConfig")
        return found

    @property
    def driver(self) -> type[Driver[Any]]:
        found = _load(self.driver_class)
        if not (isinstance(found, type) and issubclass(found, Driver)):
            raise TypeError(f"{self.driver_class} is not a Driver")
        return found


def _entry(module: str, config: str, driver: str) -> DriverEntry:
    return DriverEntry(f"{module}:{config}", f"{module}:{driver}")


REGISTRY: Final[dict[str, DriverEntry]] = {
    "sim-camera": _entry("agent.drivers.sim.camera", "SimCameraConfig", "SimCamera"),
    "sim-idcard": _entry("agent.drivers.sim.idcard", "SimIdcardConfig", "SimIdcard"),
    "sim-jammer": _entry("agent.drivers.sim.jammer", "SimJammerConfig", "SimJammer"),
    "camera": DriverEntry("agent.drivers.camera.config:CameraConfig", "agent.drivers.camera.driver:CameraDriver"),
    "modbus-jammer": _entry("agent.drivers.jammer.modbus", "ModbusJammerConfig", "ModbusJammer"),
    "contact-jammer": _entry("agent.drivers.jammer.modbus", "ContactJammerConfig", "ModbusJammer"),
    "http-jammer": _entry("agent.drivers.jammer.httpjson", "HttpJammerConfig", "HttpJammer"),
    "at-probe": _entry("agent.drivers.probe.driver", "CellProbeConfig", "CellProbe"),
    "idcard-sam": _entry("agent.drivers.idcard.driver", "IdcardSamConfig", "IdcardSam"),
}


def device_problems(table: Any, key: str) -> tuple[DeviceConfig | None, list[Problem]]:
    """One ``[[devices]]`` table (at ``key``, e.g. ``devices[2]``) validated against the config class its
    ``driver`` tag names: the config, or every problem found, each at its own key (``devices[2].port``)."""
    known = ", ".join(REGISTRY)
    if not isinstance(table, dict):
        return None, [Problem(key, "input should be a table of device keys", "invalid")]
    tag = table.get(TAG_KEY)
    if tag is None:
        return None, [Problem(f"{key}.{TAG_KEY}", f"field required (one of: {known})", "missing")]
    entry = REGISTRY.get(tag) if isinstance(tag, str) else None
    if entry is None:
        return None, [Problem(f"{key}.{TAG_KEY}", f"unknown driver {str(tag)!r} (known: {known})", "invalid")]
    return validated(table, entry.config, key)


def create_driver(config: DeviceConfig, base_dir: Path | None = None) -> Driver[Any]:
    entry = REGISTRY.get(config.driver)
    if entry is None or not isinstance(config, entry.config):
        raise KeyError(f"no driver registered for {config.driver!r} with config {type(config).__name__}")
    driver = entry.driver
    if driver.uses_base_dir:
        return driver(config, base_dir=base_dir)  # type: ignore[call-arg]  # such drivers take it
    return driver(config)
