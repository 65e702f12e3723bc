"""The analysis of the cameras: ``fps`` times a second each camera's worker takes the frame it asked its
grabber for (or notes that none came), runs the analyser, keeps the result and queues the changes with their
snapshots, and asks for the next frame: one grabbed from half a period before its next pass on.

One thread steps every camera's worker (:class:`AnalysisLoop`), not one thread per camera: a thread costs
memory of its own (its malloc arena keeps what HOG freed there; four analysis threads held ~4 MB more
than one, measured in ``bench/camera.py``'s setting), and a 2 fps analysis of a few cameras leaves one
thread idle most of the time.  Each step also runs that camera's grabber watchdog.  Times are
``time.monotonic()``; the driver turns them into the supervisor's clock when it hands events over.
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

# Changes waiting for the supervisor, which drains them every second (a camera makes at most a few a
# second).  Past WARN_PENDING of it the worker logs a warning; past it the oldest go, counted and reported
# in the camera's state (``events_dropped``).
MAX_PENDING = 1000
WARN_PENDING = 800
# A frame is asked for from this share of a period before the pass that takes it: fresh enough (at most
# half a period old), and early enough that a 10 fps stream delivers it before the pass.
REQUEST_LEAD = 0.5


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
        # When the loop steps it next (time.monotonic()).
        self.due = 0.0
        self._pending: deque[WorkerEvent] = deque(maxlen=MAX_PENDING)
        self._dropped = 0
        self._warned = False
        self._latest: Analysis | None = None
        self._error = ""
        self._last_step: float | None = None

    def start(self) -> None:
        self.due = time.monotonic()
        AnalysisLoop.shared().add(self)

    def stop(self, timeout: float = 5.0) -> None:
        """Take this worker off the loop; returns once no step of it runs (or after ``timeout``)."""
        AnalysisLoop.shared().remove(self, timeout)

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

    @property
    def dropped(self) -> int:
        """Changes lost because nobody drained them in time (the oldest go first)."""
        with self._lock:
            return self._dropped

    def drain(self) -> list[WorkerEvent]:
        with self._lock:
            drained = list(self._pending)
            self._pending.clear()
            self._warned = False
            return drained

    def run_step(self, now: float) -> None:
        """:meth:`step`, with any failure kept as the worker's error: the loop serves the other cameras on."""
        try:
            self.step(now)
        except Exception as exc:  # the driver reports the error as a fault
            with self._lock:
                first = self._error == ""
                self._error = f"analysis failed: {type(exc).__name__}: {exc}"
            if first:
                log.exception("camera %s: analysis failed", self.name)
        self.due = max(self.due + self.period_s, time.monotonic())
        self.grabber.request(self.due - REQUEST_LEAD * self.period_s)

    def step(self, now: float) -> None:
        """One analysis pass at ``now`` (``time.monotonic()``)."""
        self.grabber.watchdog(now)
        grabbed = self.grabber.take()
        if grabbed is None:
            analysis, changes = self.analyser.idle(now)
            events = [WorkerEvent(now, change) for change in changes]
        else:
            analysis, changes = self.analyser.frame(now, grabbed.frame)
            # Only the snapshot's reference waits in the queue, never the frame.
            events = [WorkerEvent(now, change, self._snapshot(change, grabbed.frame)) for change in changes]
        with self._lock:
            self._latest = analysis
            overflow = len(self._pending) + len(events) - MAX_PENDING
            self._dropped += max(0, overflow)
            self._pending.extend(events)
            waiting, dropped = len(self._pending), self._dropped
            warn = waiting >= WARN_PENDING and not self._warned
            self._warned = self._warned or warn
            self._error = ""
            self._last_step = now
        if warn:
            log.warning(
                "camera %s: %d changes wait for the agent (limit %d, %d dropped so far): is the supervisor stuck?",
                self.name,
                waiting,
                MAX_PENDING,
                dropped,
            )

    def _snapshot(self, change: Change, frame: Image) -> Snapshot | None:
        if not isinstance(change, OccupancyChange):
            return None
        snapshot = encode(frame, self.limits.width, self.limits.max_bytes)
        if snapshot is not None:
            self.snapshots.add(snapshot)
        return snapshot


class AnalysisLoop:
    """One thread stepping every registered worker when it is due; it runs while there are workers."""

    _instance: AnalysisLoop | None = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> AnalysisLoop:
        """The process's loop, which every camera driver uses."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._workers: list[Worker] = []
        self._stepping: Worker | None = None
        self._thread: threading.Thread | None = None

    def add(self, worker: Worker) -> None:
        with self._lock:
            if worker not in self._workers:
                self._workers.append(worker)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="camera-analyse", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def remove(self, worker: Worker, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            if worker in self._workers:
                self._workers.remove(worker)
            while self._stepping is worker and (left := deadline - time.monotonic()) > 0:
                self._lock.wait(left)
            self._lock.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                if not self._workers:
                    self._thread = None
                    return
                worker = min(self._workers, key=lambda w: w.due)
                wait = worker.due - time.monotonic()
                if wait > 0:
                    # Woken early when a worker comes or goes; then choose again.
                    self._lock.wait(wait)
                    continue
                self._stepping = worker
            try:
                worker.run_step(time.monotonic())
            finally:
                with self._lock:
                    self._stepping = None
                    self._lock.notify_all()
