"""Feed health and tamper states of one camera, each a state with hysteresis.

    signal_lost    no new frame for ``signal_lost_after_s`` (or never one), or an encoder's screen instead
                   of a picture: flat colour (blue or mid grey "no video") or snow
    frozen         frames keep coming but are exactly identical for ``frozen_after_s`` — real sensors and
                   codecs always add noise; static H.264 repeats a frame at most ~0.3 s
    covered        a large share of the reference's textured cells gone flat (hand, cap, tape, spray)
    defocused      sharpness far below the camera's own rolling baseline
    moved          the reference view is found shifted, turned or zoomed
    scene_changed  the reference view is not found at all

The last four are tamper checks: they need the commissioning :class:`Baseline` and are off without one.
A light switched on or off scales contrast everywhere; every measure here is normalised so that it does
not count (sharpness over grey variance, texture relative to the cell's own reference, ORB features).
A covered lens masks defocus and movement: a cover also kills sharpness and features.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Final, Literal

import numpy as np

from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.alignment import Alignment, ReferenceMatcher
from agent.drivers.camera.analysis.baseline import Baseline
from agent.drivers.camera.analysis.hysteresis import Flip, Hysteresis
from agent.drivers.camera.analysis.image import Floats, Image
from agent.drivers.camera.analysis.settings import AnalysisSettings

Problem = Literal["signal_lost", "frozen", "covered", "defocused", "moved", "scene_changed"]
PROBLEMS: Final[tuple[Problem, ...]] = ("signal_lost", "frozen", "covered", "defocused", "moved", "scene_changed")
TAMPER: Final[frozenset[Problem]] = frozenset({"covered", "defocused", "moved", "scene_changed"})
# Below this neighbour correlation a frame is snow, not a picture (real frames measure above 0.8).
SNOW_CORRELATION = 0.3
# The rolling sharpness baseline learns only from frames this close to it, and only once it has enough.
LEARN_RANGE = (0.7, 1.5)
LEARN_MIN = 20
# The reference alignment runs again once this share of pixels changed by more than image.CHANGED_LEVELS
# since the frame it last measured (sensor and codec noise: 0.0 within 30 s of the empty room; a turn of
# 0.5 degrees: 0.066, a shift of 0.5% of the width: 0.12), and at least this often in any case.
SAME_VIEW_CHANGED = 0.005
ALIGN_ANYWAY_S = 30.0

Lighting = Literal["normal", "dark", "bright", "unknown"]


@dataclass(frozen=True, slots=True)
class HealthChange:
    problem: Problem
    on: bool
    t: float
    # When the condition began (on) or ended (off): the detection latency is ``t - since``.
    since: float
    detail: str = ""


@dataclass(frozen=True, slots=True)
class HealthMetrics:
    brightness: float | None = None
    sharpness_ratio: float | None = None
    covered_share: float | None = None
    shift_px: float | None = None
    rotation_deg: float | None = None
    match_share: float | None = None
    # The mean grey of each texture cell (image.cells); None without a baseline, or when covered.
    cell_mean: Floats | None = None
    lighting: Lighting = "unknown"
    signal_reason: str = ""


class HealthMonitor:
    def __init__(self, settings: AnalysisSettings, baseline: Baseline | None) -> None:
        self.settings = s = settings
        self.baseline = baseline
        self._states: dict[Problem, Hysteresis] = {
            "signal_lost": Hysteresis(s.signal_lost_after_s, s.clear_after_s),
            "frozen": Hysteresis(s.frozen_after_s, s.clear_after_s),
            "covered": Hysteresis(s.covered_after_s, s.clear_after_s),
            "defocused": Hysteresis(s.defocused_after_s, s.clear_after_s),
            "moved": Hysteresis(s.moved_after_s, s.clear_after_s),
            "scene_changed": Hysteresis(s.moved_after_s, s.clear_after_s),
        }
        self._details: dict[Problem, str] = {}
        self._matcher = ReferenceMatcher(baseline.reference) if baseline is not None else None
        self._sharpness: deque[float] = deque(maxlen=max(LEARN_MIN, s.sharpness_window))
        self._first_t: float | None = None
        self._last_frame_t: float | None = None
        self._last_change_t: float | None = None
        self._previous: Image | None = None
        self._next_alignment = 0.0
        self._aligned_t = 0.0
        # How many times the reference alignment ran (for the benchmark's raw-cost loop).
        self.alignments = 0
        # The frame the last alignment measured: while the picture still matches it pixel for pixel, the
        # camera cannot have turned, and the alignment (half of a quiet frame's analysis) need not run again.
        self._aligned_grey: Image | None = None
        self._alignment: Alignment | None = None
        self.metrics = HealthMetrics()

    @property
    def tamper_checks(self) -> bool:
        return self.baseline is not None

    @property
    def seen_frame(self) -> bool:
        return self._last_frame_t is not None

    @property
    def active(self) -> tuple[Problem, ...]:
        return tuple(p for p in PROBLEMS if self._states[p].on)

    def detail(self, problem: Problem) -> str:
        return self._details.get(problem, "")

    def idle(self, t: float) -> list[HealthChange]:
        """No new frame has arrived by ``t``."""
        if self._first_t is None:
            self._first_t = t
        since = self._last_frame_t if self._last_frame_t is not None else self._first_t
        self.metrics = HealthMetrics(lighting=self.metrics.lighting, signal_reason="no_frame")
        changes: list[HealthChange] = []
        self._observe(changes, "signal_lost", t, True, since=since, detail="no_frame")
        return changes

    def frame(self, t: float, frame: Image, grey: Image) -> list[HealthChange]:
        """A new frame at ``t``: ``frame`` as decoded, ``grey`` its analysis-size grey version."""
        if self._first_t is None:
            self._first_t = t
        self._last_frame_t = t
        changes: list[HealthChange] = []
        flat = image.uniformity(frame, grey)
        snow = not flat.uniform and image.neighbour_correlation(grey) < SNOW_CORRELATION
        reason = "no_video" if flat.screen else "noise" if snow else ""
        self._observe(changes, "signal_lost", t, bool(reason), since=None, detail=reason)

        same = self._previous is not None and np.array_equal(grey, self._previous)
        if not same or self._last_change_t is None:
            self._last_change_t = t
        self._previous = grey
        self._observe(changes, "frozen", t, same, since=self._last_change_t, detail="identical frames")

        metrics = HealthMetrics(brightness=flat.mean, signal_reason=reason)
        if self.baseline is not None and not reason:
            metrics = self._tamper(changes, t, grey, flat, metrics)
        self.metrics = metrics
        return changes

    def _tamper(
        self, changes: list[HealthChange], t: float, grey: Image, flat: image.Uniformity, metrics: HealthMetrics
    ) -> HealthMetrics:
        assert self.baseline is not None
        assert self._matcher is not None
        s = self.settings
        std, mean = image.cells(grey)
        share = 1.0 if flat.uniform else image.covered_share(std, self.baseline.cell_std)
        covered = share >= s.covered_fraction
        tone = "dark" if flat.mean < 100.0 else "bright"
        self._observe(changes, "covered", t, covered, since=None, detail=tone)

        sharp = image.sharpness(grey)
        reference = self.baseline.sharpness
        if len(self._sharpness) >= LEARN_MIN:
            reference = float(image.median(self._sharpness))
        ratio = sharp / reference if reference > 0 else 1.0

        if t >= self._next_alignment:
            self._next_alignment = t + s.moved_check_s
            if covered:
                self._alignment = None
            elif (
                self._alignment is None
                or self._aligned_grey is None
                or t - self._aligned_t >= ALIGN_ANYWAY_S
                or image.changed_pixels(grey, self._aligned_grey) >= SAME_VIEW_CHANGED
            ):
                self._alignment = self._matcher.align(grey)
                self.alignments += 1
                self._aligned_t, self._aligned_grey = t, grey
            self._judge_alignment(changes, t, self._alignment)
        aligned = self._alignment
        moving = self._states["moved"].on or self._states["scene_changed"].on

        masked = covered or moving
        self._observe(
            changes, "defocused", t, not masked and ratio < s.defocus_ratio, since=None, detail=f"sharpness {ratio:.2f}"
        )
        if not masked and not self.active and LEARN_RANGE[0] <= ratio <= LEARN_RANGE[1]:
            self._sharpness.append(sharp)
        return HealthMetrics(
            brightness=flat.mean,
            sharpness_ratio=ratio,
            covered_share=share,
            shift_px=aligned.shift_px if aligned else None,
            rotation_deg=aligned.rotation_deg if aligned else None,
            match_share=aligned.match_share if aligned else None,
            cell_mean=None if covered else mean,
            lighting=self._lighting(flat.mean),
            signal_reason=metrics.signal_reason,
        )

    def _judge_alignment(self, changes: list[HealthChange], t: float, aligned: Alignment | None) -> None:
        s = self.settings
        if aligned is None:  # covered: nothing to see, so nothing moved
            self._observe(changes, "scene_changed", t, False, since=None, detail="")
            self._observe(changes, "moved", t, False, since=None, detail="")
            return
        lost = aligned.match_share is not None and aligned.match_share < s.scene_match_min
        moved = not lost and (
            aligned.shift_px >= s.moved_px
            or abs(aligned.rotation_deg) >= s.moved_deg
            or abs(aligned.scale - 1.0) >= s.moved_scale
        )
        share = f"{aligned.match_share:.2f}" if aligned.match_share is not None else "n/a"
        self._observe(changes, "scene_changed", t, lost, since=None, detail=f"reference features found {share}")
        detail = f"shift {aligned.shift_px:.1f} px, rotation {aligned.rotation_deg:.1f} deg"
        self._observe(changes, "moved", t, moved, since=None, detail=detail)

    def _lighting(self, brightness: float) -> Lighting:
        assert self.baseline is not None
        if brightness < 0.6 * self.baseline.brightness_min:
            return "dark"
        if brightness > min(250.0, 1.3 * self.baseline.brightness_max):
            return "bright"
        return "normal"

    def _observe(
        self,
        changes: list[HealthChange],
        problem: Problem,
        t: float,
        condition: bool,
        *,
        since: float | None,
        detail: str,
    ) -> None:
        if condition and not self._states[problem].on:
            # Keep the detail of the streak that is building, so the report says what was seen.
            self._details[problem] = detail
        flip: Flip | None = self._states[problem].update(t, condition, since)
        if flip is not None:
            changes.append(HealthChange(problem, flip.on, flip.t, flip.since, self._details.get(problem, "")))
