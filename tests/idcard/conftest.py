"""Fixtures for the ID-card reader tests: generated test cards, a pty SAM simulator, a fast-timed driver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from idcard_helpers import FAST, SAM_BYTES, Watch, today

from agent.drivers.idcard.driver import IdcardSam, IdcardSamConfig
from agent.drivers.idcard.sim.cards import GeneratedCard, generated_test_cards
from agent.drivers.idcard.sim.model import SamModel
from agent.drivers.idcard.sim.pty import PtySamReader
from protocol.validation import convert


@pytest.fixture
def cards() -> list[GeneratedCard]:
    return generated_test_cards(seed=20260517, count=8, today=today())


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[PtySamReader]:
    reader = PtySamReader(SamModel(SAM_BYTES, delay_s=0.3), link=tmp_path / "ttySAM0")
    reader.start()
    yield reader
    reader.close()


@pytest.fixture
def make_driver() -> Iterator[Callable[..., Watch]]:
    made: list[IdcardSam] = []

    def make(**keys: Any) -> Watch:
        config = convert({"id": "reader-101", "room": "101", **FAST, **keys}, IdcardSamConfig)
        driver = IdcardSam(config)
        made.append(driver)
        driver.start()
        return Watch(driver)

    yield make
    for driver in made:
        driver.close()
