"""Where the camera points now, compared with its commissioning reference view.

ORB features matched to the reference and a RANSAC similarity fit (``estimateAffinePartial2D``) give shift,
rotation and scale, and the share of reference features still found says whether it is the same scene at
all.  A plain, featureless view (a bare vault wall) has too few features for that; there
``phaseCorrelate`` still measures a shift, though it cannot tell a new scene.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from agent.drivers.camera.analysis.image import Image

MIN_FEATURES = 40
MIN_MATCHES = 8
RANSAC_PX = 3.0
GAIN_MAX = 8.0


@dataclass(frozen=True, slots=True)
class Alignment:
    # Where the centre of the reference view is now, in analysis pixels.
    dx: float
    dy: float
    rotation_deg: float
    scale: float
    # Share of the reference's features found in place; None when measured by phase correlation.
    match_share: float | None

    @property
    def shift_px(self) -> float:
        return math.hypot(self.dx, self.dy)


class ReferenceMatcher:
    def __init__(self, reference: Image, features: int = 500) -> None:
        self._orb = cv2.ORB.create(nfeatures=features, fastThreshold=10)
        self._matcher = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True)
        self._reference = reference
        self._reference_mean = max(1.0, float(reference.mean()))
        keypoints, descriptors = self._orb.detectAndCompute(reference, None)
        self._ref_points = np.array([k.pt for k in keypoints], dtype=np.float32).reshape(-1, 2)
        self._ref_descriptors = descriptors
        height, width = reference.shape
        self._centre = np.array([width / 2.0, height / 2.0])
        # Only a featureless view needs the window (float32, 230 KB at 320×180): made on first use.
        self._window: NDArray[np.float32] | None = None

    @property
    def featureful(self) -> bool:
        return self._ref_descriptors is not None and len(self._ref_points) >= MIN_FEATURES

    def align(self, grey: Image) -> Alignment:
        if grey.shape != self._reference.shape:
            raise ValueError(f"frame {grey.shape} does not match the reference {self._reference.shape}")
        return self._by_features(grey) if self.featureful else self._by_phase(grey)

    def _by_features(self, grey: Image) -> Alignment:
        lost = Alignment(0.0, 0.0, 0.0, 1.0, 0.0)
        # A dimmed view has too little contrast for FAST's fixed threshold (at a quarter of the light 5% of the
        # reference's features are found): bring the frame to the reference's brightness first.  Not
        # histogram equalisation, which would turn a plain wall's sensor noise into features.
        gain = min(GAIN_MAX, max(1.0 / GAIN_MAX, self._reference_mean / max(1.0, float(grey.mean()))))
        if abs(gain - 1.0) > 0.1:
            grey = np.asarray(cv2.convertScaleAbs(grey, alpha=gain), dtype=np.uint8)
        keypoints, descriptors = self._orb.detectAndCompute(grey, None)
        if descriptors is None or len(keypoints) < MIN_MATCHES:
            return lost
        matches = self._matcher.match(self._ref_descriptors, descriptors)
        if len(matches) < MIN_MATCHES:
            return lost
        src = self._ref_points[[m.queryIdx for m in matches]]
        dst = np.array([keypoints[m.trainIdx].pt for m in matches], dtype=np.float32)
        fit, inliers = cv2.estimateAffinePartial2D(src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX)
        if fit is None or inliers is None:
            return lost
        share = float(inliers.sum()) / len(self._ref_points)
        centre = fit[:, :2] @ self._centre + fit[:, 2] - self._centre
        rotation = math.degrees(math.atan2(float(fit[1, 0]), float(fit[0, 0])))
        scale = math.hypot(float(fit[0, 0]), float(fit[1, 0]))
        return Alignment(float(centre[0]), float(centre[1]), rotation, scale, share)

    def _by_phase(self, grey: Image) -> Alignment:
        if self._window is None:
            height, width = self._reference.shape
            self._window = np.asarray(cv2.createHanningWindow((width, height), cv2.CV_32F), dtype=np.float32)
        # phaseCorrelate multiplies its inputs by the window in place: give it copies, never the reference.
        (dx, dy), _response = cv2.phaseCorrelate(
            self._reference.astype(np.float32), grey.astype(np.float32), self._window.copy()
        )
        return Alignment(float(dx), float(dy), 0.0, 1.0, None)
