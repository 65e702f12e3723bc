"""Commissioning a camera: frames of the empty, lit, correctly aimed vault in; a baseline (or reasons not
to make one) out.  Pure; the CLI (``agent/camera_commission.py``) reads the frames and writes the files.

A baseline taken from a bad picture would make every later check meaningless, so it is refused when
the frames show no usable picture, or people (the reference must be the empty room).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.alignment import MIN_FEATURES, ReferenceMatcher
from agent.drivers.camera.analysis.baseline import MIN_FRAMES, Baseline, make_baseline
from agent.drivers.camera.analysis.health import SNOW_CORRELATION
from agent.drivers.camera.analysis.image import Image
from agent.drivers.camera.analysis.people import PeopleDetector
from agent.drivers.camera.analysis.settings import AnalysisSettings

# Frames in which the detectors may see someone before the view counts as occupied (one stray hit).
MAX_PEOPLE_SHARE = 0.2


@dataclass(frozen=True, slots=True)
class Commissioned:
    baseline: Baseline | None
    # Why no baseline was made; empty when one was.
    refused: tuple[str, ...]
    # Worth knowing, but no reason to refuse.
    notes: tuple[str, ...]


def commission(frames: Sequence[Image], settings: AnalysisSettings, *, allow_people: bool = False) -> Commissioned:
    if len(frames) < MIN_FRAMES:
        return Commissioned(None, (f"only {len(frames)} frames read, {MIN_FRAMES} needed",), ())
    height, width = frames[0].shape[:2]
    size = image.fit(width, height, settings.width, settings.height)
    greys = [image.grey_small(f, size) for f in frames]
    refused: list[str] = []
    notes: list[str] = []
    flat = sum(1 for f, g in zip(frames, greys, strict=True) if image.uniformity(f, g).uniform)
    if flat:
        refused.append(f"{flat} of {len(frames)} frames are one flat colour (covered lens, no video, lights off)")
    snow = sum(1 for g in greys if image.neighbour_correlation(g) < SNOW_CORRELATION)
    if snow:
        refused.append(f"{snow} of {len(frames)} frames are noise, not a picture")
    detector = PeopleDetector(settings)
    occupied = sum(1 for f in frames if detector.detect(f).count > 0)
    if occupied > MAX_PEOPLE_SHARE * len(frames):
        text = f"people seen in {occupied} of {len(frames)} frames: commission the empty vault"
        (notes if allow_people else refused).append(text)
    if refused:
        return Commissioned(None, tuple(refused), tuple(notes))
    baseline = make_baseline(greys)
    if not ReferenceMatcher(baseline.reference).featureful:
        notes.append(f"fewer than {MIN_FEATURES} features in the view: movement is measured by phase only")
    return Commissioned(baseline, (), tuple(notes))
