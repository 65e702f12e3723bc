"""The two 3×3 operations done in numpy instead of OpenCV give OpenCV's values exactly, on real footage."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from camera_footage import Frame

from agent.drivers.camera.analysis import image

ROOT = Path(__file__).resolve().parents[2]
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


def test_median_is_numpys(room_with_person: list[Frame], empty_room: list[Frame]) -> None:
    greys = np.stack(_greys(empty_room[:8]))  # an even count: the mean of the two middle values
    cells = [image.cells(g)[1] for g in _greys(room_with_person[:7])]
    assert np.array_equal(image.median(greys, axis=0), np.median(greys, axis=0))
    assert np.array_equal(image.median(greys[:7], axis=0), np.median(greys[:7], axis=0))
    # numpy takes float32 cells' middle pair's mean in float32, this in float64: equal to float32's precision.
    for values in (*cells, [3.0], [2.0, 1.0], [image.sharpness(g) for g in greys]):
        assert float(image.median(values)) == pytest.approx(float(np.median(values)), rel=1e-6)
    with pytest.raises(ValueError, match="no values"):
        image.median([])


ANALYSE_WITHOUT_NUMPY_MA = """
import sys
sys.path[:0] = [{root!r}, {tests!r}]
from camera_footage import EMPTY, ONE_BY_ONE, load
from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.analyser import CameraAnalyser
from agent.drivers.camera.analysis.baseline import make_baseline
from agent.drivers.camera.analysis.settings import AnalysisSettings
empty = load(EMPTY)
size = image.fit(empty[0].shape[1], empty[0].shape[0], 320, 240)
analyser = CameraAnalyser(AnalysisSettings(), make_baseline([image.grey_small(f, size) for f in empty[::6]]))
for k, frame in enumerate(load(ONE_BY_ONE, step=5, stop=300)):
    analyser.frame(k * 0.5, frame)
print(analyser.health.tamper_checks, "numpy.ma" in sys.modules)
"""


def test_analysing_frames_does_not_load_numpy_ma() -> None:
    # np.median would import numpy.ma (1.4 MB resident) on the analysis thread's first tamper check.
    code = ANALYSE_WITHOUT_NUMPY_MA.format(root=str(ROOT), tests=str(Path(__file__).parent))
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["True", "False"]
