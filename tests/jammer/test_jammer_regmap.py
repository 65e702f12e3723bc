"""The register map without a device: how points become reads, and reads become band states."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agent.drivers.jammer.regmap import MAX_REGISTERS, Block, Point, RegisterMap, decode, plan


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
    assert Point.model_validate(point).active(raw) is active


def test_unread_cells_are_unknown_not_off() -> None:
    regmap = RegisterMap.model_validate(
        {"bands": [{"name": "gsm900", "table": "coil", "address": 0}, {"name": "lte", "table": "coil", "address": 1}]}
    )
    assert decode(regmap, {("coil", 0): 1}).bands == {"gsm900": "on", "lte": "unknown"}


def test_a_map_with_repeated_band_names_is_refused() -> None:
    with pytest.raises(ValidationError, match="band names must not repeat"):
        RegisterMap.model_validate(
            {"bands": [{"name": "gsm", "table": "coil", "address": 0}, {"name": "gsm", "table": "coil", "address": 1}]}
        )
