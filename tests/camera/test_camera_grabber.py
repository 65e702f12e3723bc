"""The grab thread with fake sources: every frame grabbed, only those asked for converted and kept until
taken; reopen with backoff, watchdog for a hung read."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
import pytest

from agent.drivers.camera.analysis.image import Image
from agent.drivers.camera.errors import CaptureError
from agent.drivers.camera.grabber import Backoff, FrameSource, Grabber


class FakeSource:
    """Frames numbered 1, 2, … (the number is the pixel value); ends after ``frames`` or blocks on ``hang``.

    Counts what the grabber converted (``retrieved``) apart from what it grabbed (``read_count``)."""

    def __init__(self, frames: int = 10_000, hang: threading.Event | None = None, period: float = 0.002) -> None:
        self.label = "fake"
        self.frames = frames
        self.hang = hang
        self.period = period
        self.read_count = 0
        self.retrieved = 0
        self.closed_by: int | None = None
        self.reader: int | None = None

    def grab(self) -> bool:
        self.reader = threading.get_ident()
        if self.hang is not None and self.read_count >= 1:
            self.hang.wait(10)
            return False
        if self.read_count >= self.frames:
            return False
        self.read_count += 1
        time.sleep(self.period)
        return True

    def retrieve(self) -> Image | None:
        self.retrieved += 1
        return np.full((4, 4), self.read_count % 256, np.uint8)

    def close(self) -> None:
        self.closed_by = threading.get_ident()


class Opener:
    def __init__(self, make: Callable[[int], FrameSource]) -> None:
        self.make = make
        self.times: list[float] = []
        self.sources: list[FrameSource] = []

    def __call__(self) -> FrameSource:
        self.times.append(time.monotonic())
        source = self.make(len(self.times))
        self.sources.append(source)
        return source


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.fixture
def grabbers() -> list[Grabber]:
    started: list[Grabber] = []
    yield started
    for grabber in started:
        grabber.stop()


def test_converts_only_the_frames_asked_for_and_keeps_none_once_taken(grabbers: list[Grabber]) -> None:
    opener = Opener(lambda n: FakeSource())
    grabber = Grabber("cam", opener)
    grabbers.append(grabber)
    grabber.start()
    wait_for(lambda: grabber.latest() is not None)  # the first frame is wanted at once
    first = grabber.take()
    assert first is not None
    assert grabber.take() is None  # taken once; the grabber holds no reference to it
    source = opener.sources[0]
    wait_for(lambda: source.read_count > first.seq + 20)  # type: ignore[attr-defined]
    assert grabber.latest() is None
    assert source.retrieved == 1  # type: ignore[attr-defined]  # 20 frames grabbed, none converted
    asked = time.monotonic() + 0.05
    grabber.request(asked)
    wait_for(lambda: grabber.latest() is not None)
    later = grabber.take()
    assert later is not None
    assert later.at >= asked
    assert later.seq > first.seq + 20
    assert int(later.frame[0, 0]) == later.seq % 256  # the frame just grabbed, not an older one
    assert source.retrieved == 2  # type: ignore[attr-defined]
    assert grabber.status().connected


def test_a_source_that_cannot_convert_is_reopened(grabbers: list[Grabber]) -> None:
    class Unconvertible(FakeSource):
        def retrieve(self) -> Image | None:
            return None

    opener = Opener(lambda n: Unconvertible())
    grabber = Grabber("cam", opener, Backoff(min_s=0.02, max_s=0.1))
    grabbers.append(grabber)
    grabber.start()
    wait_for(lambda: len(opener.times) >= 2)
    assert grabber.latest() is None
    first = opener.sources[0]
    # Failed at its first conversion, then closed by its own thread before the reopen.
    assert (first.read_count, first.closed_by) == (1, first.reader)  # type: ignore[attr-defined]


def test_a_failed_stream_is_closed_and_reopened(grabbers: list[Grabber]) -> None:
    opener = Opener(lambda n: FakeSource(frames=3))
    grabber = Grabber("cam", opener, Backoff(min_s=0.02, max_s=0.1))
    grabbers.append(grabber)
    grabber.start()
    wait_for(lambda: len(opener.times) >= 3)
    assert all(s.closed_by is not None for s in opener.sources[:2])  # type: ignore[attr-defined]
    assert "stream ended or timed out" in grabber.status().error or grabber.status().connected


def test_open_failures_back_off_exponentially(grabbers: list[Grabber]) -> None:
    def refuse(n: int) -> FrameSource:
        raise CaptureError(f"cannot open fake (attempt {n})")

    opener = Opener(refuse)
    grabber = Grabber("cam", opener, Backoff(min_s=0.05, max_s=0.2))
    grabbers.append(grabber)
    grabber.start()
    wait_for(lambda: len(opener.times) >= 5)
    gaps = [b - a for a, b in zip(opener.times, opener.times[1:], strict=False)]
    # Waits never end early: 0.05, 0.1, 0.2, then capped at 0.2.
    assert [round(g, 2) >= want for g, want in zip(gaps, (0.05, 0.1, 0.2, 0.2), strict=False)] == [True] * 4, gaps
    status = grabber.status()
    assert not status.connected
    assert "cannot open fake" in status.error


def test_a_nudge_retries_at_once(grabbers: list[Grabber]) -> None:
    def refuse(n: int) -> FrameSource:
        if n < 2:
            raise CaptureError("unplugged")
        return FakeSource()

    opener = Opener(refuse)
    grabber = Grabber("cam", opener, Backoff(min_s=30.0, max_s=30.0))
    grabbers.append(grabber)
    grabber.start()
    wait_for(lambda: len(opener.times) == 1)
    grabber.nudge()  # what the udev watcher does when the camera comes back
    wait_for(lambda: grabber.latest() is not None, timeout=2.0)


def test_a_hung_read_is_abandoned_and_the_source_reopened(grabbers: list[Grabber]) -> None:
    release = threading.Event()
    opener = Opener(lambda n: FakeSource(hang=release if n == 1 else None))
    grabber = Grabber("cam", opener, Backoff(min_s=0.02, max_s=0.1), stall_after_s=0.2)
    grabbers.append(grabber)
    grabber.start()
    wait_for(lambda: grabber.latest() is not None)
    assert not grabber.watchdog(time.monotonic())  # not stalled yet
    time.sleep(0.3)
    assert grabber.watchdog(time.monotonic())
    assert grabber.status().abandoned == 1
    assert grabber.take() is not None  # the hung source's first frame
    grabber.request(time.monotonic())
    wait_for(lambda: len(opener.times) == 2 and grabber.latest() is not None)
    assert opener.sources[1].retrieved == 1  # type: ignore[attr-defined]  # from the fresh source
    hung = opener.sources[0]
    assert hung.closed_by is None  # nobody releases a capture another thread is reading
    release.set()
    wait_for(lambda: hung.closed_by is not None)  # type: ignore[attr-defined]
    assert hung.closed_by == hung.reader  # type: ignore[attr-defined]


def test_stop_ends_the_threads_and_closes_the_source() -> None:
    opener = Opener(lambda n: FakeSource())
    grabber = Grabber("cam", opener)
    grabber.start()
    wait_for(lambda: grabber.latest() is not None)
    grabber.stop()
    assert opener.sources[0].closed_by is not None  # type: ignore[attr-defined]
    assert not [t for t in threading.enumerate() if t.name.startswith("camera-grab-cam-")]
