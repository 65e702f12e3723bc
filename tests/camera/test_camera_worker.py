"""The analysis worker's queue of changes: bounded, warned about before it is full, and every loss counted."""

from __future__ import annotations

import logging

import pytest

from agent.drivers.camera import worker as worker_module
from agent.drivers.camera.analysis.analyser import Analysis, CameraAnalyser, Change
from agent.drivers.camera.analysis.health import HealthChange
from agent.drivers.camera.analysis.settings import AnalysisSettings
from agent.drivers.camera.errors import CaptureError
from agent.drivers.camera.grabber import FrameSource, Grabber
from agent.drivers.camera.snapshot import SnapshotStore
from agent.drivers.camera.worker import MAX_PENDING, WARN_PENDING, Worker

PER_PASS = 150


class Chatty(CameraAnalyser):
    """A real analyser whose every idle pass reports many changes (a source that flaps)."""

    def idle(self, t: float) -> tuple[Analysis, list[Change]]:
        analysis, _ = super().idle(t)
        return analysis, [HealthChange("signal_lost", k % 2 == 0, t, t) for k in range(PER_PASS)]


def never_opens() -> FrameSource:
    raise CaptureError("not used: the grab thread is not started")


def test_a_full_queue_warns_first_then_counts_every_change_it_drops(caplog: pytest.LogCaptureFixture) -> None:
    work = Worker(
        "cam1", Grabber("cam1", never_opens), Chatty(AnalysisSettings(), None), 0.5, snapshots=SnapshotStore()
    )
    caplog.set_level(logging.WARNING, logger=worker_module.log.name)
    passes = 0
    while passes * PER_PASS < WARN_PENDING:
        work.step(float(passes))
        passes += 1
        assert work.dropped == 0
    assert len([r for r in caplog.records if "changes wait" in r.getMessage()]) == 1  # warned, nothing lost
    while passes * PER_PASS <= MAX_PENDING + 2 * PER_PASS:
        work.step(float(passes))
        passes += 1
    assert work.dropped == passes * PER_PASS - MAX_PENDING
    drained = work.drain()
    assert len(drained) == MAX_PENDING
    # The newest are kept: the last pass's changes are all there.
    assert drained[-1].at == float(passes - 1)
    assert len([r for r in caplog.records if "changes wait" in r.getMessage()]) == 1
    # Drained, it warns again the next time it fills; the count of losses stays.
    for _ in range(WARN_PENDING // PER_PASS + 1):
        work.step(float(passes))
        passes += 1
    assert len([r for r in caplog.records if "changes wait" in r.getMessage()]) == 2
    assert work.dropped == passes * PER_PASS - MAX_PENDING - (WARN_PENDING // PER_PASS + 1) * PER_PASS
