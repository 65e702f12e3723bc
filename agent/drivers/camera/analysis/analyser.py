"""One camera's analysis: frames in (with their time), typed results and changes out; no I/O, no clock.

The caller decides the pace (the driver's worker feeds the latest frame ``fps`` times a second) and calls
:meth:`CameraAnalyser.idle` when no new frame has come.  Counting pauses while the picture is unusable
(no signal, a cover building up, a repeated frame): a covered lens must not read as everyone leaving.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.baseline import Baseline
from agent.drivers.camera.analysis.health import HealthChange, HealthMetrics, HealthMonitor, Problem
from agent.drivers.camera.analysis.image import Floats, Image
from agent.drivers.camera.analysis.occupancy import Motion, MotionDetector, PeopleCounter
from agent.drivers.camera.analysis.people import PERSON_ROWS, WINDOW, Box, PeopleDetector, around, union, within
from agent.drivers.camera.analysis.settings import AnalysisSettings

# Below this share of the view unlike the empty room, nobody is in the picture (measured: empty room
# 0.0-0.1, someone in it 0.1-0.9).
VACANT_SHARE = 0.1
# Counted empty, and unchanged from frame to frame, this long: the picture is the empty room from now on.
EMPTY_STILL_S = 5.0
# Of the smallest person's height: motion at least this tall may be a whole person walking.
WHOLE_PERSON = 0.8


@dataclass(frozen=True, slots=True)
class Analysis:
    t: float
    people: int
    # None while the motion model learns (start-up, after the light changed) or without a picture.
    motion: bool | None
    motion_share: float
    # People the detectors saw in this very frame; None when they did not look.
    seen: int | None
    problems: tuple[Problem, ...]
    metrics: HealthMetrics
    tamper_checks: bool
    # Whether any frame has come since start: before the first, the feed is "starting", not "ok".
    started: bool = True
    # The height (share of the frame's) of the smallest person counted so far: what to set
    # ``person_min_height`` a little below once people have walked the whole view; None before anyone.
    smallest_person: float | None = None
    # Whether the picture looks like the room as last seen empty; None when it cannot tell.
    vacant: bool | None = None


@dataclass(frozen=True, slots=True)
class OccupancyChange:
    """The count changed on the frame just fed (the caller has that frame, for the snapshot)."""

    t: float
    people: int
    was: int


Change = HealthChange | OccupancyChange


class CameraAnalyser:
    def __init__(
        self, settings: AnalysisSettings, baseline: Baseline | None, detector: PeopleDetector | None = None
    ) -> None:
        self.settings = s = settings
        self.health = HealthMonitor(settings, baseline)
        self.motion = MotionDetector(s.motion_fraction, s.motion_warmup_frames)
        self.counter = PeopleCounter(
            s.enter_votes,
            s.exit_after_s,
            s.recheck_s,
            s.still_exit_after_s,
            settled_recheck_s=s.settled_recheck_s,
            still_recheck_s=s.still_recheck_s,
            settle_s=s.settle_s,
        )
        self.detector = detector or PeopleDetector(settings)
        self._size: tuple[int, int] | None = None
        # Where everyone counted was last seen, and what moved since.
        self._boxes: tuple[Box, ...] = ()
        self._moved: Box | None = None
        self._smallest_person: float | None = None
        # The room as last seen empty (mean grey per texture cell): the commissioning reference at first,
        # then the picture whenever the count has been zero and the picture unchanged for EMPTY_STILL_S — papers
        # carried out or a chair moved must not read as someone still there at the next visit.
        self._empty: Floats | None = image.cells(baseline.reference)[1] if baseline is not None else None
        self._still_empty_since: float | None = None
        self._vacant_now: bool | None = None
        self._last_mean: Floats | None = None
        if baseline is not None:
            self._size = baseline.size

    def size_for(self, frame: Image) -> tuple[int, int]:
        """The analysis size for frames shaped like ``frame``; a baseline fixes it to the reference's."""
        if self._size is None:
            height, width = frame.shape[:2]
            self._size = image.fit(width, height, self.settings.width, self.settings.height)
        return self._size

    def frame(self, t: float, frame: Image) -> tuple[Analysis, list[Change]]:
        grey = image.grey_small(frame, self.size_for(frame))
        changes: list[Change] = list(self.health.frame(t, frame, grey))
        motion = self.motion.update(grey)
        if motion.moving is not None and motion.box is not None:
            self._moved = motion.box if self._moved is None else union((self._moved, motion.box))
        seen: int | None = None
        usable = self._usable()
        self._vacant_now = self._vacant() if usable else None
        if usable and self.counter.due(
            t, motion.moving, self._elsewhere(motion), self._whole(motion), self._vacant_now
        ):
            region = self._region(motion)
            people = self.detector.detect(frame, region, self._smallest() if region is not None else None)
            seen = people.count
            change = self.counter.look(t, seen, self._vacant_now)
            self._looked(people.boxes, seen)
            if people.boxes and seen == self.counter.count:
                # HOG's window is a third taller than the person in it (96 of its 128 rows).
                smallest = min(box[3] - box[1] for box in people.boxes) * PERSON_ROWS / WINDOW[1]
                known = self._smallest_person
                self._smallest_person = smallest if known is None else min(known, smallest)
            if change is not None:
                changes.append(OccupancyChange(t, change.people, change.was))
        self._learn_empty(t, usable)
        return self._analysis(t, motion.moving, motion.share, seen), changes

    def _learn_empty(self, t: float, usable: bool) -> None:
        """Take the picture as the empty room once it has been counted empty, and unchanged from frame to
        frame, for EMPTY_STILL_S.  Not MOG2's "no motion": it takes minutes to absorb a moved object."""
        mean, before = self.health.metrics.cell_mean, self._last_mean
        self._last_mean = mean
        still = usable and mean is not None and before is not None and image.changed_share(mean, before) == 0.0
        if mean is None or not still or self.counter.count > 0:
            self._still_empty_since = None
            return
        if self._still_empty_since is None:
            self._still_empty_since = t
        elif t - self._still_empty_since >= EMPTY_STILL_S:
            self._empty = mean

    def _region(self, motion: Motion) -> Box | None:
        """Where the people detectors need to look: where people were last all seen, and wherever something
        moved since — a person the detector missed is still there or went where something moved.  The whole
        frame while the motion model learns."""
        if motion.moving is None:
            return None
        return union((*self._boxes, *((self._moved,) if self._moved is not None else ())))

    def _smallest(self) -> float | None:
        """The height of the smallest person to look for, when only those last seen can be there: nothing
        has moved since the last look beyond a step around them.  Otherwise someone new may have come, at
        any distance: None."""
        if not self._boxes:
            return None
        if self._moved is not None and not any(within(self._moved, around(box)) for box in self._boxes):
            return None
        return min(box[3] - box[1] for box in self._boxes)

    def _elsewhere(self, motion: Motion) -> bool:
        """Whether what moved reaches beyond where people were last seen (with a step's margin)."""
        if motion.box is None or not self._boxes:
            return True
        return not any(within(motion.box, around(box)) for box in self._boxes)

    def _vacant(self) -> bool | None:
        """Whether the picture looks like the room as last seen empty; None when it cannot tell (no
        baseline, the light changed too much, the camera moved)."""
        mean = self.health.metrics.cell_mean
        if mean is None or self._empty is None or {"moved", "scene_changed"} & set(self.health.active):
            return None
        share = image.changed_share(mean, self._empty)
        return None if share is None else share < VACANT_SHARE

    def _whole(self, motion: Motion) -> bool:
        """Whether what moved is tall enough to be a whole person of this camera's smallest commissioned size
        (``WHOLE_PERSON`` of it: the motion mask misses a little of a walker).  On the footage every look
        at shorter motion in an empty room saw nobody; people were found from 0.77 of the frame's height."""
        if motion.box is None or self.settings.person_min_height <= 0.0:
            return True
        return motion.box[3] - motion.box[1] >= WHOLE_PERSON * self.settings.person_min_height

    def _looked(self, boxes: tuple[Box, ...], seen: int) -> None:
        # Until a look sees everyone counted again, keep where they were and everything that moved since.
        if seen >= self.counter.count:
            self._moved = None
            if boxes or self.counter.count == 0:
                self._boxes = boxes

    def idle(self, t: float) -> tuple[Analysis, list[Change]]:
        changes: list[Change] = list(self.health.idle(t))
        return self._analysis(t, None, 0.0, None), changes

    def _usable(self) -> bool:
        m = self.health.metrics
        blind = {"signal_lost", "frozen", "covered"} & set(self.health.active)
        building = m.covered_share is not None and m.covered_share >= self.settings.covered_fraction
        return not blind and not building and not m.signal_reason

    def _analysis(self, t: float, moving: bool | None, share: float, seen: int | None) -> Analysis:
        return Analysis(
            t=t,
            people=self.counter.count,
            motion=moving,
            motion_share=share,
            seen=seen,
            problems=self.health.active,
            metrics=self.health.metrics,
            tamper_checks=self.health.tamper_checks,
            started=self.health.seen_frame,
            smallest_person=self._smallest_person,
            vacant=self._vacant_now,
        )
