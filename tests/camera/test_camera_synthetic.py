"""The demo's generated vault, through the same analyser as real cameras."""

from __future__ import annotations

import itertools
import time

import numpy as np
from camera_timeline import alone_alerts

from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.analyser import CameraAnalyser, OccupancyChange
from agent.drivers.camera.analysis.baseline import make_baseline
from agent.drivers.camera.analysis.settings import AnalysisSettings
from agent.drivers.camera.synthetic import HEIGHT, WIDTH, Scene, SyntheticSource, people_at

PERIOD = 0.5


def test_the_generated_visits_are_counted_and_break_the_two_person_rule_once() -> None:
    scene = Scene(seed=3)
    size = image.fit(WIDTH, HEIGHT, 320, 240)
    baseline = make_baseline([image.grey_small(scene.render(t), size) for t in (1.0, 3.0, 5.0, 7.0, 9.0)])
    analyser = CameraAnalyser(AnalysisSettings(), baseline)
    counts: list[int] = []
    truth: list[int] = []
    changes: list[OccupancyChange] = []
    for step in range(int(90 / PERIOD)):
        t = step * PERIOD
        analysis, found = analyser.frame(t, scene.render(t))
        assert analysis.problems == (), f"{analysis.problems} at {t} s"
        counts.append(analysis.people)
        truth.append(people_at(t))
        changes += [c for c in found if isinstance(c, OccupancyChange)]
    exact = sum(c == t for c, t in zip(counts, truth, strict=True)) / len(counts)
    # The truth counts a figure once it has walked in; the count lags a second or two at each change.
    assert exact >= 0.7, f"{exact:.0%}"
    assert [k for k, _ in itertools.groupby(counts)] == [0, 1, 2, 1, 0]
    assert [(c.was, c.people) for c in changes] == [(0, 1), (1, 2), (2, 1), (1, 0)]
    # A stays alone for 25 s after B leaves: one breach.
    assert alone_alerts(counts, PERIOD) == 1


def test_a_live_synthetic_camera_is_never_frozen() -> None:
    source = SyntheticSource(seed=1)
    try:
        started = time.monotonic()
        frames = [source.read() for _ in range(4)]
        elapsed = time.monotonic() - started
    finally:
        source.close()
    assert all(f is not None and f.shape == (HEIGHT, WIDTH, 3) for f in frames)
    pairs = itertools.pairwise(frames)
    assert not any(np.array_equal(a, b) for a, b in pairs)  # type: ignore[arg-type]
    assert elapsed >= 0.5  # paced like a camera (5 fps), not as fast as it can draw
