"""The real footage in ``../shared/footage`` (beside the repository, never copied into it) and its ground truth.

Attribution: sample videos from intel-iot-devkit/sample-videos (Intel), CC BY 4.0.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from agent.drivers.camera.capture import open_file_once

REPO = Path(__file__).resolve().parents[2]
FOOTAGE = (REPO.parent / "shared" / "footage").resolve()

ONE_BY_ONE = "people/one-by-one-person-detection.mp4"
WALKING = "people/face-demographics-walking.gif"
WALKING_PAUSE = "people/face-demographics-walking-and-pause.gif"
EMPTY = "empty/one-by-one_empty_f0000-0059.mp4"
EMPTY_WIDE = "empty/people-detection.gif"

Frame = NDArray[np.uint8]


def path(name: str) -> Path:
    found = FOOTAGE / name
    if not found.is_file():
        raise FileNotFoundError(f"footage {found} is missing: the tests need ../shared/footage beside the repository")
    return found


@cache
def ground_truth() -> dict[str, dict[str, object]]:
    data: dict[str, dict[str, object]] = json.loads(path("ground_truth.json").read_text())
    return data


def truth(name: str) -> list[int | None]:
    """People per decoded frame; None where the footage README calls the count ambiguous."""
    entry = ground_truth()[name]
    counts: list[int | None] = [None] * int(entry["frames"])  # type: ignore[call-overload]
    for first, last, count in entry["segments"]:  # type: ignore[attr-defined]
        for index in range(first, last + 1):
            counts[index] = count
    return counts


def fps(name: str) -> float:
    return float(ground_truth()[name]["fps"])  # type: ignore[arg-type]


def frames(name: str, step: int = 1, stop: int | None = None, *, colour: bool = False) -> Iterator[tuple[int, Frame]]:
    """``(index, frame)`` for every ``step``-th decoded frame, in decode order (the ground truth's indices);
    grey where the clip has a luma plane, as a camera reads it unless configured for colour."""
    # Decoded through the agent's own capture module: the one place that touches cv2.VideoCapture.
    capture = open_file_once(str(path(name)), colour=colour)
    try:
        index = 0
        while stop is None or index < stop:
            frame = capture.read()
            if frame is None:
                return
            if index % step == 0:
                yield index, frame
            index += 1
    finally:
        capture.close()


def load(name: str, step: int = 1, stop: int | None = None, *, colour: bool = False) -> list[Frame]:
    return [frame for _, frame in frames(name, step, stop, colour=colour)]
