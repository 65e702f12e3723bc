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
from typing import Annotated, Any, Final

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from agent.drivers.base import DeviceConfig, Driver

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


def validate_device(value: Any) -> DeviceConfig:
    """One ``[[devices]]`` table validated against the config class its ``driver`` tag names.

    The errors are those of a pydantic discriminated union (``union_tag_invalid``, ``union_tag_not_found``),
    and a ValidationError of the chosen class propagates as is: pydantic places its errors under the
    device's own key (``devices[2].port``)."""
    if isinstance(value, DeviceConfig):
        entry = REGISTRY.get(value.driver)
        if entry is None or not isinstance(value, entry.config):
            raise _unknown(value.driver)
        return value
    if not isinstance(value, dict):
        raise PydanticCustomError("model_attributes_type", "Input should be a table of device keys")
    tag = value.get(TAG_KEY)
    if tag is None:
        raise PydanticCustomError(
            "union_tag_not_found",
            "Unable to extract tag using discriminator '{discriminator}'",
            {"discriminator": TAG_KEY},
        )
    entry = REGISTRY.get(tag) if isinstance(tag, str) else None
    if entry is None:
        raise _unknown(tag)
    return entry.config.model_validate(value)


def _unknown(tag: object) -> PydanticCustomError:
    return PydanticCustomError(
        "union_tag_invalid",
        "Input tag '{tag}' found using '{discriminator}' does not match any of the expected tags: {expected_tags}",
        {"tag": str(tag), "discriminator": TAG_KEY, "expected_tags": ", ".join(repr(t) for t in REGISTRY)},
    )


class _ByTag:
    """Pydantic schema of :data:`AnyDeviceConfig`: dispatch on the tag at validation time (a static
    discriminated union would need every config class, hence every driver module, at import time)."""

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_plain_validator_function(validate_device)


AnyDeviceConfig = Annotated[DeviceConfig, _ByTag()]


def create_driver(config: DeviceConfig, base_dir: Path | None = None) -> Driver[Any]:
    entry = REGISTRY.get(config.driver)
    if entry is None or not isinstance(config, entry.config):
        raise KeyError(f"no driver registered for {config.driver!r} with config {type(config).__name__}")
    driver = entry.driver
    if driver.uses_base_dir:
        return driver(config, base_dir=base_dir)  # type: ignore[call-arg]  # such drivers take it
    return driver(config)
