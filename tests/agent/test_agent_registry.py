"""The driver registry: every tag known without importing its driver, a driver's module imported only when a
config names it, and the errors of a discriminated union for what does not name a known driver."""

from __future__ import annotations

import json
import subprocess
import sys
import typing
from pathlib import Path
from typing import Any

import msgspec
import pytest

from agent.config import parse_config
from agent.drivers.base import DeviceConfig, Driver
from agent.drivers.registry import REGISTRY, DriverEntry, create_driver
from agent.drivers.sim.camera import SimCameraConfig
from agent.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = {"agent": {"city": "jinan", "site": "s01", "name": "a1"}, "broker": {"host": "127.0.0.1"}}


@pytest.mark.parametrize("tag", sorted(REGISTRY))
def test_every_tag_names_its_own_config_and_a_driver(tag: str) -> None:
    entry = REGISTRY[tag]
    # The config class answers to exactly this tag: the file's `driver = "…"` picks it.
    driver = next(f for f in msgspec.structs.fields(entry.config) if f.name == "driver")
    assert typing.get_args(driver.type) == (tag,)
    assert issubclass(entry.driver, Driver)


def test_a_wrong_location_is_a_clear_error() -> None:
    with pytest.raises(TypeError, match=r"agent\.drivers\.sim\.camera:SimCamera is not a DeviceConfig"):
        _ = DriverEntry("agent.drivers.sim.camera:SimCamera", "agent.drivers.sim.camera:SimCamera").config
    with pytest.raises(TypeError, match="is not a Driver"):
        _ = DriverEntry("agent.drivers.sim.camera:SimCameraConfig", "agent.drivers.sim.camera:SimCameraConfig").driver


# Run in a fresh interpreter: this test process has imported every driver already.
CAMERA_ONLY = f"""
import json, sys
sys.path.insert(0, {str(ROOT)!r})
import agent.cli
from agent.config import parse_config
from agent.drivers.registry import create_driver
camera = {{"driver": "camera", "id": "cam1", "source": "synthetic:1"}}
config = parse_config({{**{BASE!r}, "devices": [camera]}}, "a.toml")
create_driver(config.devices[0])
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("agent.drivers.", "pydantic")))))
"""


def test_a_camera_only_agent_imports_no_other_driver() -> None:
    done = subprocess.run([sys.executable, "-c", CAMERA_ONLY], capture_output=True, text=True, timeout=60, check=True)
    loaded = json.loads(done.stdout)
    assert "agent.drivers.camera.driver" in loaded
    others = ("agent.drivers.sim.", "agent.drivers.jammer.", "agent.drivers.probe.", "agent.drivers.idcard.driver")
    assert [m for m in loaded if m.startswith(others)] == []
    # Nor pydantic: its machinery alone is ~10 MB of an agent's memory (the hub keeps it, for FastAPI).
    assert [m for m in loaded if m.startswith("pydantic")] == []


def _problems(devices: list[Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config({**BASE, "devices": devices}, "a.toml")
    return [f"{p.key}: {p.reason}" for p in caught.value.problems]


def test_each_device_is_checked_against_its_own_config_at_its_own_key() -> None:
    known = ", ".join(REGISTRY)
    assert _problems(
        [
            {"driver": "sim-camera", "id": "c1", "seed": "7"},
            {"driver": 7, "id": "x"},
            "camera",
            {"driver": "camera", "id": "c2", "source": "synthetic:1", "fps": 99.0},
        ]
    ) == [
        "devices[0].seed: expected int, got str",
        f"devices[1].driver: unknown driver '7' (known: {known})",
        "devices[2]: input should be a table of device keys",
        "devices[3].fps: expected float <= 10.0",
    ]


def test_a_config_object_is_driven_only_by_its_tags_class() -> None:
    camera = parse_config({**BASE, "devices": [{"driver": "sim-camera", "id": "c1"}]}, "a.toml").devices[0]
    assert camera == SimCameraConfig(id="c1")
    assert type(create_driver(camera)).__name__ == "SimCamera"
    stray = DeviceConfig(driver="sim-camera", id="c2")
    with pytest.raises(KeyError, match="no driver registered for 'sim-camera' with config DeviceConfig"):
        create_driver(stray)
