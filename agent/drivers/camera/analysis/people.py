"""People in one frame: OpenCV's HOG people detector, optionally with the frontal-face Haar cascade.

Both are tuned per camera (measured on the footage): HOG's 64×128 window misses people who fill the
frame, so the frame is shrunk to ``hog_width`` and given a replicated border (a share of its height) —
320 px and 25% took the one-by-one room from ~40% to 81% exact.  Far-away people need the opposite
(a larger ``hog_width``).  HOG undercounts groups (0-1 on two- and three-person clips); frontal faces count
those, but the cascade also fires on texture, so it is off by default, bounded in face size, and only
adds to the count.

HOG's cost is proportional to the area it scans, so the caller may name a region (where something moved,
where people were last seen): HOG then scans that region with a margin, at full height, at least half as
wide as high — so every scale that fits the frame's height still fits — and the whole frame when the
region would cover most of it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from agent.drivers.camera.analysis import hog_pyramid
from agent.drivers.camera.analysis.image import Image, resized
from agent.drivers.camera.analysis.settings import AnalysisSettings

NMS_IOU = 0.3
FACE_CASCADE = "haarcascade_frontalface_default.xml"
# Around a region, this share of its width on each side (a walker's next step, a box's loose fit).
REGION_MARGIN = 0.5
# A region this wide (share of the scanned width) or wider is scanned as the whole frame.
WHOLE_FRAME = 0.8

# HOG's detection window (width, height) in pixels.
WINDOW = (64, 128)
# A person known from the last look may have come this much nearer or gone this much further since.
SIZE_MARGIN = 1.25
# HOG's people fill about 96 of the window's 128 rows (INRIA's training crops), and it finds them within
# about this factor of that size.
PERSON_ROWS = 96
SIZE_TOLERANCE = 1.1

# Left, top, right, bottom as shares of the frame's width and height.
Box = tuple[float, float, float, float]


def union(boxes: Iterable[Box]) -> Box | None:
    """The smallest box holding all of ``boxes``; None when there are none."""
    listed = list(boxes)
    if not listed:
        return None
    return (
        min(b[0] for b in listed),
        min(b[1] for b in listed),
        max(b[2] for b in listed),
        max(b[3] for b in listed),
    )


def around(box: Box, margin: float = 0.5) -> Box:
    """``box`` widened by ``margin`` of its width on each side and half that of its height."""
    dx, dy = (box[2] - box[0]) * margin, (box[3] - box[1]) * margin / 2
    return box[0] - dx, box[1] - dy, box[2] + dx, box[3] + dy


def within(inner: Box, outer: Box) -> bool:
    return outer[0] <= inner[0] and outer[1] <= inner[1] and inner[2] <= outer[2] and inner[3] <= outer[3]


def cascade_path(name: str) -> str:
    # cv2.data ships the cascades but has no type stubs: find the folder through the package itself.
    import cv2.data  # noqa: PLC0415

    path = Path(cv2.data.haarcascades) / name
    if not path.is_file():
        raise FileNotFoundError(f"OpenCV has no cascade {name} (looked in {path.parent})")
    return str(path)


@dataclass(frozen=True, slots=True)
class PeopleSeen:
    hog: int
    faces: int
    # Where HOG found people, in shares of the frame.
    boxes: tuple[Box, ...] = ()

    @property
    def count(self) -> int:
        return max(self.hog, self.faces)


class PeopleDetector:
    def __init__(self, settings: AnalysisSettings) -> None:
        self.settings = settings
        self._hog = cv2.HOGDescriptor()
        self._hog.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32))
        self._faces: cv2.CascadeClassifier | None = None
        if settings.faces:
            self._faces = cv2.CascadeClassifier(cascade_path(FACE_CASCADE))
            if self._faces.empty():
                raise ValueError(f"OpenCV could not load {FACE_CASCADE}")

    def detect(self, frame: Image, region: Box | None = None, smallest: float | None = None) -> PeopleSeen:
        """People in ``frame`` (BGR as decoded, any size); HOG scans only around ``region`` when given.

        ``smallest``: the height (share of the frame) of the smallest person HOG must find, when the caller
        knows who it is looking for; HOG then skips the finer scales, which cost the most."""
        hog, boxes = self._hog_people(frame, region, smallest)
        faces = self._face_count(frame) if self._faces is not None else 0
        return PeopleSeen(hog, faces, boxes)

    def _hog_people(self, frame: Image, region: Box | None, smallest: float | None) -> tuple[int, tuple[Box, ...]]:
        s = self.settings
        small = resized(frame, s.hog_width)
        height, width = small.shape[:2]
        # Above and below only: it lets the window reach people whose head or feet touch the frame's edge;
        # at the sides it counted exactly the same on the footage for 14% more HOG time.
        border = round(height * s.hog_border)
        if border:
            small = np.asarray(cv2.copyMakeBorder(small, border, border, 0, 0, cv2.BORDER_REPLICATE), dtype=np.uint8)
        left, right = _columns(region, width, small.shape[1], small.shape[0])
        scanned = small[:, left:right] if right - left < small.shape[1] else small
        # The pyramid's first level, in resized pixels per HOG pixel: the smallest person this camera can
        # show (its commissioned ``person_min_height``) fills the window there; so does the smallest one seen
        # by the last look when the caller knows it (with SIZE_MARGIN to spare).  The finest levels are the
        # largest: skipping them saves the most.
        first = s.person_min_height * height / PERSON_ROWS / SIZE_TOLERANCE
        if smallest is not None:
            first = max(first, smallest * height / WINDOW[1] / SIZE_MARGIN)
        hits = hog_pyramid.detect(
            self._hog, scanned, step=s.hog_scale, stride=s.hog_stride, padding=s.hog_padding, first=first
        )
        if not hits:
            return 0, ()
        boxes = [list(rect) for rect, _ in hits]
        scores = [score for _, score in hits]
        kept = [int(i) for i in np.ravel(cv2.dnn.NMSBoxes(boxes, scores, s.hog_min_score, NMS_IOU))]
        found = tuple(
            (
                (boxes[i][0] + left) / width,
                (boxes[i][1] - border) / height,
                (boxes[i][0] + boxes[i][2] + left) / width,
                (boxes[i][1] + boxes[i][3] - border) / height,
            )
            for i in kept
        )
        return len(found), found

    def _face_count(self, frame: Image) -> int:
        assert self._faces is not None
        s = self.settings
        small = resized(frame, s.face_width)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        largest = max(20, round(grey.shape[0] * s.face_max_size))
        found = self._faces.detectMultiScale(
            grey, scaleFactor=1.1, minNeighbors=s.face_min_neighbors, minSize=(20, 20), maxSize=(largest, largest)
        )
        return len(found)


def _columns(region: Box | None, width: int, total: int, height: int) -> tuple[int, int]:
    """The columns of the bordered HOG image to scan for ``region``: all of them without one."""
    if region is None:
        return 0, total
    x0, x1 = region[0] * width, region[2] * width
    margin = (x1 - x0) * REGION_MARGIN
    x0, x1 = x0 - margin, x1 + margin
    # At least half as wide as high, so a window at every scale that fits the height fits here too.
    short = height / 2 + 16 - (x1 - x0)
    if short > 0:
        x0, x1 = x0 - short / 2, x1 + short / 2
    left, right = max(0, math.floor(x0)), min(total, math.ceil(x1))
    if right - left >= WHOLE_FRAME * total:
        return 0, total
    return left, right
