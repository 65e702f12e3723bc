"""The two 3×3 operations done in numpy instead of OpenCV give OpenCV's values exactly, on real footage."""

from __future__ import annotations

import cv2
import numpy as np
from camera_footage import Frame

from agent.drivers.camera.analysis import image

KERNEL = np.ones((3, 3), np.uint8)


def _greys(frames: list[Frame]) -> list[image.Image]:
    size = image.fit(frames[0].shape[1], frames[0].shape[0], 320, 240)
    return [image.grey_small(f, size) for f in frames]


def test_laplacian_is_opencvs(room_with_person: list[Frame], empty_room: list[Frame]) -> None:
    for grey in _greys(room_with_person + empty_room[:10]):
        assert np.array_equal(image.laplacian(grey), cv2.Laplacian(grey, cv2.CV_32F))
    # The edges too, where the border rule decides: a ramp that ends at the frame's edge.
    ramp = np.tile(np.arange(0, 250, 10, dtype=np.uint8), (7, 1))
    assert np.array_equal(image.laplacian(ramp), cv2.Laplacian(ramp, cv2.CV_32F))


def test_opening_is_opencvs_on_motion_masks(room_with_person: list[Frame]) -> None:
    model = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=False)
    with_motion = 0
    for grey in _greys(room_with_person):
        mask = np.asarray(model.apply(cv2.resize(grey, (160, 90))), dtype=np.uint8)
        expected = cv2.morphologyEx(mask, cv2.MORPH_OPEN, KERNEL)
        assert np.array_equal(image.opened(mask), expected)
        with_motion += int(cv2.countNonZero(expected) > 0)
    assert with_motion > 10  # the comparison saw real motion, not only empty masks


def test_opening_at_the_edges() -> None:
    rng = np.random.default_rng(5)
    for density in (0.3, 0.7, 0.95):
        mask = (rng.random((9, 12)) < density).astype(np.uint8) * 255
        assert np.array_equal(image.opened(mask), cv2.morphologyEx(mask, cv2.MORPH_OPEN, KERNEL))
