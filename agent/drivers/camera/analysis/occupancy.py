"""How many people are in view, over time: motion says when to look, detectors say how many, and the
count only moves on repeated evidence.

MOG2 absorbs a person who stands still within seconds, so "no motion" never means "nobody": the count
goes down only after no look has seen that many for ``exit_after_s`` (and at least two looks have missed
them) *and* something moved at or after the last look that did — nobody leaves without moving, while a
detector misses a still person now and then (HOG: one look in five, and four in five for someone
standing with their back to the camera).  Without any motion the count still decays after
``still_exit_after_s``, so a stray count cannot stick.  It goes up when ``enter_votes`` of the last three
looks agree, so one stray detection makes no entry.

Looking is the expensive part (HOG costs ten times the rest of a frame's analysis), so the detectors run
only when the answer may have changed.  Empty room: on every frame with motion.  A count in doubt (the
last look disagreed with it, or it has just changed): on every frame with motion, every ``recheck_s``
without, and at once after a first miss.  A settled count: when motion starts or stops (people come and
go then), and otherwise every ``settled_recheck_s`` while something moves, every ``still_recheck_s``
while nothing does.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import cv2
import numpy as np

from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.image import Image

# A change over this share of the frame is the light, or the camera, not someone walking: relearn.
GLOBAL_CHANGE = 0.5
VOTE_LOOKS = 3
# Looks that must have missed someone before they count as gone: with sparse looks a single miss comes
# long after the last sighting, and a detector misses a present person now and then.
MISSES_FOR_EXIT = 2


@dataclass(frozen=True, slots=True)
class Motion:
    share: float
    # None while the background model is still learning (right after start or a relearn).
    moving: bool | None
    # Around everything that moved (left, top, right, bottom as shares of the frame); None if nothing did.
    box: tuple[float, float, float, float] | None = None


class MotionDetector:
    def __init__(self, min_share: float, warmup_frames: int) -> None:
        self.min_share = min_share
        self.warmup_frames = warmup_frames
        self._model = self._new_model()
        self._frames = 0

    @staticmethod
    def _new_model() -> cv2.BackgroundSubtractorMOG2:
        model = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=False)
        # Three modes, not five: a vault's background is a still room, and the model is most of a camera's
        # analysis memory (5 modes at 320×180: 2.9 MB).
        model.setNMixtures(3)
        return model

    def update(self, grey: Image) -> Motion:
        # At half the analysis size: someone walking in is still hundreds of pixels, for a quarter of the cost.
        half = cv2.resize(grey, (grey.shape[1] // 2, grey.shape[0] // 2), interpolation=cv2.INTER_AREA)
        mask = self._model.apply(half)
        # The opening removes codec speckle and GIF dithering, which MOG2 reports as 0.1-1.7% foreground.
        mask = image.opened(np.asarray(mask, dtype=np.uint8))
        share = float(cv2.countNonZero(mask)) / mask.size
        box = None
        if share > 0.0:
            x, y, w, h = cv2.boundingRect(mask)
            rows, cols = mask.shape
            box = (x / cols, y / rows, (x + w) / cols, (y + h) / rows)
        self._frames += 1
        if self._frames <= self.warmup_frames:
            return Motion(share, None)
        if share >= GLOBAL_CHANGE:
            self._model = self._new_model()
            self._model.apply(half)
            self._frames = 1
            return Motion(share, None)
        return Motion(share, share >= self.min_share, box)


@dataclass(frozen=True, slots=True)
class CountChange:
    t: float
    people: int
    was: int


class PeopleCounter:
    def __init__(
        self,
        enter_votes: int = 2,
        exit_after_s: float = 2.0,
        recheck_s: float = 1.0,
        still_exit_after_s: float = 30.0,
        *,
        settled_recheck_s: float = 6.0,
        still_recheck_s: float = 10.0,
        settle_s: float = 1.0,
    ) -> None:
        if not 1 <= enter_votes <= VOTE_LOOKS:
            raise ValueError(f"enter_votes must be 1..{VOTE_LOOKS}, got {enter_votes}")
        self.enter_votes = enter_votes
        self.exit_after_s = exit_after_s
        self.recheck_s = recheck_s
        self.still_exit_after_s = still_exit_after_s
        self.settled_recheck_s = settled_recheck_s
        self.still_recheck_s = still_recheck_s
        self.settle_s = settle_s
        self.count = 0
        self._last_motion: float | None = None
        self._recent: deque[int] = deque(maxlen=VOTE_LOOKS)
        self._since_support: list[int] = []
        self._support_t = 0.0
        self._last_look: float | None = None
        self._changed_t: float | None = None
        # Whether the previous frame moved; None before the first.
        self._was_active: bool | None = None
        # The count would have fallen to zero but the picture still shows someone.
        self._held = False

    def due(
        self, t: float, moving: bool | None, elsewhere: bool = True, whole: bool = True, vacant: bool | None = None
    ) -> bool:
        """Whether to run the detectors on the frame at ``t``; call once per usable frame.

        ``elsewhere``: something moved away from where the counted people were seen (or the caller cannot
        tell), so someone else may have come.  ``whole``: what moved is as tall as a whole person could be
        here (or the caller cannot tell) — a detector finds nobody who is half in view, so shorter motion
        is someone still coming in, an arm, a door: looked at once it grows, or when it stops.  ``vacant``: as
        for :meth:`look`; while the count is held up only by the picture, the detectors look again when it
        looks empty (then the count can fall) and otherwise every ``still_recheck_s``."""
        # While the motion model learns (``moving`` None) it cannot tell: as if something moved.
        active = moving is not False
        was, self._was_active = self._was_active, active
        if active:
            self._last_motion = t
        if self._last_look is None:
            return True
        if 0 < len(self._since_support) < MISSES_FOR_EXIT:  # one look missed someone: confirm at once
            return True
        since = t - self._last_look
        if self._held:
            return vacant is not False or since >= self.still_recheck_s
        just_changed = self._changed_t is not None and t - self._changed_t < self.settle_s
        if just_changed or self._recent[-1] != self.count:
            return active or since >= self.recheck_s
        if self.count == 0:
            return (active and whole) or (not active and was is True)
        if was is not None and active != was:
            return active or was is True
        if moving and elsewhere:
            return True
        return since >= (self.settled_recheck_s if active else self.still_recheck_s)

    def look(self, t: float, seen: int, vacant: bool | None = None) -> CountChange | None:
        """The detectors saw ``seen`` people at ``t``; returns the change of the count, if any.

        ``vacant``: whether the picture looks like the room as last seen empty (None: cannot tell).
        While it plainly does not, the count does not fall to zero before ``still_exit_after_s``: a person
        the detector keeps missing (back turned, bent over a shelf) is still in the picture."""
        self._last_look = t
        self._recent.append(seen)
        was = self.count
        votes = sorted(self._recent, reverse=True)
        agreed = votes[self.enter_votes - 1] if len(votes) >= self.enter_votes else 0
        if seen >= self.count:
            self._supported(t)
        else:
            self._since_support.append(seen)
        absent_for = t - self._support_t
        # Leaving shows as motion while the leaver is still seen (or just after), so motion on the last
        # supporting look itself counts; motion from walking in, before a still person was last seen, does not.
        moved = self._last_motion is not None and self._last_motion >= self._support_t
        if agreed > self.count:
            self.count = agreed
            self._supported(t)
        elif (
            self.count > 0
            and len(self._since_support) >= MISSES_FOR_EXIT
            and ((absent_for >= self.exit_after_s and moved) or absent_for >= self.still_exit_after_s)
        ):
            # Nothing has seen this many for a while: keep the best that was seen since.
            best = max(self._since_support, default=0)
            self._held = best == 0 and vacant is False and absent_for < self.still_exit_after_s
            if not self._held:
                self.count = best
                self._supported(t)
        if self.count == was:
            return None
        self._changed_t = t
        return CountChange(t, self.count, was)

    def _supported(self, t: float) -> None:
        self._support_t = t
        self._since_support = []
        self._held = False
