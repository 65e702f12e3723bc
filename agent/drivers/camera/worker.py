"""The analysis thread of one camera: ``fps`` times a second it takes the grabber's latest frame (or notes
that none came), runs the analyser, keeps the result and queues the changes with their snapshots.

It also runs the grabber's watchdog.  Times are ``time.monotonic()``; the driver turns them into the
supervisor's clock when it hands events over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass

from agent.drivers.camera.analysis.analyser import Analysis, CameraAnalyser, Change, OccupancyChange
from agent.drivers.camera.analysis.image import Image
from agent.drivers.camera.grabber import Grabber
from agent.drivers.camera.snapshot import Snapshot, SnapshotStore, encode

log = logging.getLogger("sitewatch.agent.camera")

# Changes waiting for the supervisor; beyond this the oldest go (the supervisor polls every second).
MAX_PENDING = 1000


@dataclass(frozen=True, slots=True)
class WorkerEvent:
    at: float
    change: Change
    snapshot: Snapshot | None = None


@dataclass(frozen=True, slots=True)
class SnapshotLimits:
    width: int = 640
    max_bytes: int = 60_000


class Worker:
    def __init__(
        self,
        name: str,
        grabber: Grabber,
        analyser: CameraAnalyser,
        period_s: float,
        *,
        snapshots: SnapshotStore,
        limits: SnapshotLimits = SnapshotLimits(),
    ) -> None:
        self.name = name
        self.grabber = grabber
        self.analyser = analyser
        self.period_s = period_s
        self.snapshots = snapshots
        self.limits = limits
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: deque[WorkerEvent] = deque(maxlen=MAX_PENDING)
        self._latest: Analysis | None = None
        self._error = ""
        self._seq = 0
        self._last_step: float | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"camera-analyse-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def latest(self) -> Analysis | None:
        with self._lock:
            return self._latest

    @property
    def error(self) -> str:
        with self._lock:
            return self._error

    @property
    def last_step(self) -> float | None:
        with self._lock:
            return self._last_step

    def drain(self) -> list[WorkerEvent]:
        with self._lock:
            drained = list(self._pending)
            self._pending.clear()
            return drained

    def _run(self) -> None:
        due = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            try:
                self.step(now)
            except Exception as exc:  # the thread must live on; the driver reports the error as a fault
                with self._lock:
                    first = self._error == ""
                    self._error = f"analysis failed: {type(exc).__name__}: {exc}"
                if first:
                    log.exception("camera %s: analysis failed", self.name)
            due = max(due + self.period_s, time.monotonic())
            self._stop.wait(max(0.0, due - time.monotonic()))

    def step(self, now: float) -> None:
        """One analysis pass at ``now`` (``time.monotonic()``)."""
        self.grabber.watchdog(now)
        grabbed = self.grabber.latest()
        if grabbed is None or grabbed.seq == self._seq:
            analysis, changes = self.analyser.idle(now)
            events = [WorkerEvent(now, change) for change in changes]
        else:
            self._seq = grabbed.seq
            analysis, changes = self.analyser.frame(now, grabbed.frame)
            # Only the snapshot's reference waits in the queue, never the frame.
            events = [WorkerEvent(now, change, self._snapshot(change, grabbed.frame)) for change in changes]
        with self._lock:
            self._latest = analysis
            self._pending.extend(events)
            self._error = ""
            self._last_step = now

    def _snapshot(self, change: Change, frame: Image) -> Snapshot | None:
        if not isinstance(change, OccupancyChange):
            return None
        snapshot = encode(frame, self.limits.width, self.limits.max_bytes)
        if snapshot is not None:
            self.snapshots.add(snapshot)
        return snapshot
