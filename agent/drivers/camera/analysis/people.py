"""People in one frame: OpenCV's HOG people detector, optionally with the frontal-face Haar cascade.

Both are tuned per camera (measured on the footage): HOG's 64×128 window misses people who fill the
frame, so the frame is shrunk to ``hog_width`` and given a replicated border (a share of its height) —
320 px and 25% took the one-by-one room from ~40% to 81% exact.  Far-away people need the opposite
(a larger ``hog_width``).  HOG undercounts groups (0-1 on two- and three-person clips); frontal faces count
those, but the cascade also fires on texture, so it is off by default, bounded in face size, and only
adds to the count.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from agent.drivers.camera.analysis.image import Image, resized
from agent.drivers.camera.analysis.settings import AnalysisSettings

NMS_IOU = 0.3
FACE_CASCADE = "haarcascade_frontalface_default.xml"


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

    def detect(self, frame: Image) -> PeopleSeen:
        """People in ``frame`` (BGR as decoded, any size)."""
        return PeopleSeen(self._hog_count(frame), self._face_count(frame) if self._faces is not None else 0)

    def _hog_count(self, frame: Image) -> int:
        s = self.settings
        small = resized(frame, s.hog_width)
        border = round(small.shape[0] * s.hog_border)
        if border:
            small = np.asarray(
                cv2.copyMakeBorder(small, border, border, border, border, cv2.BORDER_REPLICATE), dtype=np.uint8
            )
        rects, weights = self._hog.detectMultiScale(small, winStride=(8, 8), padding=(8, 8), scale=1.05)
        if len(rects) == 0:
            return 0
        boxes = [tuple(int(v) for v in r) for r in rects]
        scores = [float(w) for w in np.ravel(weights)]
        kept = cv2.dnn.NMSBoxes(boxes, scores, s.hog_min_score, NMS_IOU)
        return len(kept)

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
