"""The register map without a device: how points become reads, and reads become band states."""

from __future__ import annotations

import msgspec
import pytest

from agent.drivers.jammer.modbus import ModbusJammerConfig
from agent.drivers.jammer.regmap import MAX_REGISTERS, Block, Point, RegisterMap, decode, plan
from protocol.validation import Problem, convert, problem


def test_points_share_reads_per_table_within_gaps_and_limits() -> None:
    cells = [("coil", 0), ("coil", 3), ("coil", 20), ("holding", 10), ("holding", 11), ("input", 5), ("holding", 11)]
    assert plan(cells) == [  # type: ignore[arg-type]
        Block("coil", 0, 4),
        Block("coil", 20, 1),  # 17 apart: two round trips cost less than reading through
        Block("holding", 10, 2),
        Block("input", 5, 1),
    ]
    far = [("holding", a) for a in range(0, 8 * 40, 8)]  # every 8th register, 320 registers in all
    blocks = plan(far)  # type: ignore[arg-type]
    assert all(b.count <= MAX_REGISTERS for b in blocks)
    assert sum(1 for b in blocks for a in range(b.start, b.start + b.count) if ("holding", a) in far) == 40


@pytest.mark.parametrize(
    ("point", "raw", "active"),
    [
        ({"table": "coil", "address": 0}, 1, True),
        ({"table": "coil", "address": 0, "invert": True}, 1, False),
        ({"table": "holding", "address": 0}, 7, True),
        ({"table": "holding", "address": 0, "bit": 3}, 0b0111, False),
        ({"table": "holding", "address": 0, "bit": 15}, 0x8000, True),
        ({"table": "input", "address": 0, "on_value": 2}, 1, False),
        ({"table": "input", "address": 0, "on_value": 2}, 2, True),
    ],
)
def test_what_counts_as_active(point: dict[str, object], raw: int, active: bool) -> None:
    assert convert(point, Point).active(raw) is active


def test_unread_cells_are_unknown_not_off() -> None:
    regmap = convert(
        {"bands": [{"name": "gsm900", "table": "coil", "address": 0}, {"name": "lte", "table": "coil", "address": 1}]},
        RegisterMap,
    )
    assert decode(regmap, {("coil", 0): 1}).bands == {"gsm900": "on", "lte": "unknown"}


def test_a_map_with_repeated_band_names_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        convert(
            {"bands": [{"name": "gsm", "table": "coil", "address": 0}, {"name": "gsm", "table": "coil", "address": 1}]},
            RegisterMap,
        )
    assert problem(caught.value, "map") == Problem("map", "band names must not repeat", "invalid")


@pytest.mark.parametrize(
    ("point", "path", "reason"),
    [
        ({"table": "coil", "address": 0, "bit": 1}, "", "bit and on_value apply to registers, not to a coil"),
        ({"table": "holding", "address": 0, "bit": 1, "on_value": 1}, "", "give bit or on_value, not both"),
        ({"table": "holding", "address": 0, "bit": 16}, ".bit", "expected int <= 15"),
        ({"table": "holding", "address": 65536}, ".address", "expected int <= 65535"),
    ],
)
def test_a_point_that_cannot_mean_anything_is_refused(point: dict[str, object], path: str, reason: str) -> None:
    with pytest.raises(msgspec.ValidationError) as caught:
        convert({"bands": [{"name": "gsm", **point}]}, RegisterMap)
    assert problem(caught.value, "map") == Problem(f"map.bands[0]{path}", reason, "invalid")


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (
            {
                "faults": [
                    {"name": "vswr", "table": "coil", "address": 2},
                    {"name": "vswr", "table": "coil", "address": 3},
                ]
            },
            Problem("devices[0]", "fault names must not repeat", "invalid"),
        ),
        ({"host": "10.20.0.7"}, Problem("devices[0]", "transport 'rtu' needs port (and no host)", "invalid")),
        ({"bands": []}, Problem("devices[0].bands", "expected array of length >= 1", "invalid")),
        ({"max_temp": 70}, Problem("devices[0].max_temp", "unknown key", "unknown")),
    ],
)
def test_a_modbus_jammer_checks_its_map_as_the_map_does(keys: dict[str, object], expected: Problem) -> None:
    device = {
        "driver": "modbus-jammer",
        "id": "jam-101",
        "port": "/dev/ttyUSB0",
        "bands": [{"name": "gsm", "table": "coil", "address": 0}],
    }
    with pytest.raises(msgspec.ValidationError) as caught:
        convert({**device, **keys}, ModbusJammerConfig)
    assert problem(caught.value, "devices[0]") == expected
    config = convert(device, ModbusJammerConfig)
    assert config.register_map() == RegisterMap(bands=config.bands)
