"""Fixtures for the camera tests: real frames of the footage and a baseline learnt from the empty room."""

from __future__ import annotations

import cv2
import pytest
from camera_footage import EMPTY, ONE_BY_ONE, Frame, load

from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.baseline import Baseline, make_baseline
from agent.drivers.camera.analysis.settings import AnalysisSettings

# The agent runs OpenCV single-threaded (the driver sets this at start); tests measure the same thing.
cv2.setNumThreads(1)


# The footage as a camera reads it by default (grey: the decoder's luma plane), and in colour (`colour = true`).


@pytest.fixture(scope="session")
def empty_room() -> list[Frame]:
    """The 60 frames of the empty room (real sensor and codec noise)."""
    return load(EMPTY)


@pytest.fixture(scope="session")
def empty_room_colour() -> list[Frame]:
    return load(EMPTY, colour=True)


@pytest.fixture(scope="session")
def room_with_person() -> list[Frame]:
    """Every 5th frame of the first visit and the gap after it (frames 60-225): a person standing and walking."""
    return load(ONE_BY_ONE, step=5, stop=226)[12:]


@pytest.fixture(scope="session")
def room_with_person_colour() -> list[Frame]:
    return load(ONE_BY_ONE, step=5, stop=226, colour=True)[12:]


def _baseline(empty: list[Frame]) -> Baseline:
    """What commissioning learns from the empty room: every 6th frame, as the CLI keeps 20 over its watch."""
    size = image.fit(empty[0].shape[1], empty[0].shape[0], 320, 240)
    return make_baseline([image.grey_small(f, size) for f in empty[::6]])


@pytest.fixture(scope="session")
def room_baseline(empty_room: list[Frame]) -> Baseline:
    return _baseline(empty_room)


@pytest.fixture(scope="session")
def room_baseline_colour(empty_room_colour: list[Frame]) -> Baseline:
    return _baseline(empty_room_colour)


@pytest.fixture
def settings() -> AnalysisSettings:
    return AnalysisSettings()
