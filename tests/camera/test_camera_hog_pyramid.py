"""HOG level by level: the same people as OpenCV's detectMultiScale, and a first level that really skips.

Attribution: sample videos from intel-iot-devkit/sample-videos (Intel), CC BY 4.0.
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np
import pytest
from camera_footage import Frame

from agent.drivers.camera.analysis import hog_pyramid
from agent.drivers.camera.analysis.image import resized
from agent.drivers.camera.analysis.people import PeopleDetector
from agent.drivers.camera.analysis.settings import AnalysisSettings


@pytest.fixture(scope="module")
def hog() -> cv2.HOGDescriptor:
    descriptor = cv2.HOGDescriptor()
    descriptor.setSVMDetector(np.asarray(cv2.HOGDescriptor.getDefaultPeopleDetector(), dtype=np.float32))
    return descriptor


def scanned(frame: Frame) -> Frame:
    """As the detector prepares a frame: 320 px wide with a replicated border above and below."""
    small = resized(frame, 320)
    border = round(small.shape[0] * 0.25)
    return np.asarray(cv2.copyMakeBorder(small, border, border, 0, 0, cv2.BORDER_REPLICATE), dtype=np.uint8)


def test_levels_are_detect_multi_scales() -> None:
    scales = hog_pyramid.levels(320, 270, (64, 128), 1.05)
    assert scales[0] == 1.0
    assert all(b == pytest.approx(a * 1.05) for a, b in pairwise(scales))
    # The list stops at the first level too small for the window, which OpenCV still lists (and skips).
    assert round(270 / scales[-2]) >= 128
    assert round(270 / scales[-1]) < 128
    assert hog_pyramid.levels(320, 270, (64, 128), 1.0) == [1.0]


def test_the_same_people_as_detect_multi_scale(hog: cv2.HOGDescriptor, room_with_person: list[Frame]) -> None:
    same_count = same_rects = found = 0
    apart = 0
    for frame in room_with_person:
        image = scanned(frame)
        rects, _ = hog.detectMultiScale(image, winStride=(8, 8), padding=(0, 0), scale=1.05)
        ours = sorted(rect for rect, _ in hog_pyramid.detect(hog, image, step=1.05, stride=8, padding=0))
        theirs = sorted(tuple(int(v) for v in r) for r in rects)
        same_count += len(theirs) == len(ours)
        same_rects += theirs == ours
        found += bool(ours)
        if len(theirs) == len(ours):
            apart = max(
                [apart, *(abs(a - b) for r, q in zip(theirs, ours, strict=True) for a, b in zip(r, q, strict=True))]
            )
    # Level images are resized with INTER_LINEAR (3x faster than OpenCV's INTER_LINEAR_EXACT): the same
    # number of people on every frame, the same rectangles on most and a few pixels apart on the rest.
    assert found >= 15
    assert same_count == len(room_with_person)
    assert same_rects >= 0.6 * len(room_with_person)
    assert apart <= 8, apart


def test_a_first_level_above_a_persons_size_skips_them(hog: cv2.HOGDescriptor, room_with_person: list[Frame]) -> None:
    images = [scanned(frame) for frame in room_with_person]
    hits = [(image, hog_pyramid.detect(hog, image, step=1.05, stride=8, padding=0)) for image in images]
    located = [(image, found) for image, found in hits if len(found) == 1]
    assert len(located) >= 15
    for image, found in located:
        window = found[0][0][3] / 128  # the scale the person was found at (window height / 128)
        assert len(hog_pyramid.detect(hog, image, step=1.05, stride=8, padding=0, first=window / 1.1)) == 1
        assert hog_pyramid.detect(hog, image, step=1.05, stride=8, padding=0, first=window * 1.2) == []


def test_grouping_keeps_supported_clusters_with_their_best_score() -> None:
    crowd = [(100, 50, 64, 128), (102, 52, 64, 128), (98, 49, 66, 130), (101, 51, 64, 128)]
    stray = [(300, 10, 64, 128), (302, 12, 64, 128)]  # two hits are not enough (more than 2 needed)
    kept = hog_pyramid.group(crowd + stray, [0.5, 1.5, 0.2, 0.9, 3.0, 3.0])
    assert kept == [((100, 50, 64, 128), 1.5)]
    # A supported cluster inside a better-supported larger one is the same person.
    inner = [(110, 60, 40, 80)] * 3
    outer = [(100, 50, 64, 128)] * 5
    assert hog_pyramid.group(inner + outer, [1.0] * 8) == [((100, 50, 64, 128), 1.0)]


def test_person_min_height_finds_the_room_s_people_and_skips_smaller_ones(room_with_person: list[Frame]) -> None:
    full = PeopleDetector(AnalysisSettings())
    commissioned = PeopleDetector(AnalysisSettings(person_min_height=0.7))
    too_tall = PeopleDetector(AnalysisSettings(person_min_height=1.5))
    counts = [(full.detect(f).count, commissioned.detect(f).count, too_tall.detect(f).count) for f in room_with_person]
    assert sum(1 for c in counts if c[0] == 1) >= 15
    # Everyone in this room is taller than 0.78 of the frame: bounded at 0.7, HOG sees exactly the same.
    assert all(c[0] == c[1] for c in counts)
    # Bounded at 1.5 (nobody can be that tall here), HOG only scans its coarsest level and finds nobody.
    assert not any(c[2] for c in counts)
