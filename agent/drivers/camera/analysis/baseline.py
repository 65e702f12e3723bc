"""A camera's commissioning baseline: its reference view and what its picture normally measures.

Tamper checks compare against the camera's own baseline, never against fixed numbers: sharpness is
scene-dependent (125-154 in one room, ~2,300 on a dithered picture), and so is texture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.image import Floats, Image

MIN_FRAMES = 5


class BaselineError(ValueError):
    """The frames given cannot make a baseline (too few, or of different sizes)."""


@dataclass(frozen=True, slots=True)
class Baseline:
    # Analysis-size grey reference view: the pixel median of the commissioning frames.
    reference: Image
    sharpness: float
    brightness_min: float
    brightness_max: float
    cell_std: Floats
    frames: int

    @property
    def size(self) -> tuple[int, int]:
        return self.reference.shape[1], self.reference.shape[0]


def make_baseline(greys: Sequence[Image]) -> Baseline:
    """The baseline of analysis-size grey frames of the empty, lit, correctly aimed view."""
    if len(greys) < MIN_FRAMES:
        raise BaselineError(f"a baseline needs at least {MIN_FRAMES} frames, got {len(greys)}")
    shapes = {g.shape for g in greys}
    if len(shapes) != 1:
        raise BaselineError(f"frames of different sizes: {sorted(shapes)}")
    stack = np.stack(greys)
    reference = image.median(stack, axis=0).astype(np.uint8)
    sharpness = float(image.median([image.sharpness(g) for g in greys]))
    brightness = [float(g.mean()) for g in greys]
    cell_std = image.median(np.stack([image.cells(g)[0] for g in greys]), axis=0).astype(np.float32)
    return Baseline(reference, sharpness, min(brightness), max(brightness), cell_std, len(greys))
