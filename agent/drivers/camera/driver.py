"""The vault camera driver: a grab thread per camera, analysed on the cameras' one analysis thread, read by
the supervisor's poll.

OpenCV is imported in :meth:`CameraDriver.start`, not at import time, so the agent package (and its
config check) imports on a machine without it.  Without a commissioning baseline the driver still
watches the feed (signal, frozen) and counts people, but runs no tamper checks and says so in its state.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.drivers.base import Driver, DriverEvent
from agent.drivers.camera.config import CameraConfig
from agent.drivers.camera.errors import CameraError
from protocol.messages import DeviceState

if TYPE_CHECKING:
    from agent.drivers.camera.grabber import Grabber
    from agent.drivers.camera.report import Steady
    from agent.drivers.camera.snapshot import Snapshot, SnapshotStore
    from agent.drivers.camera.udev import CameraWatcher
    from agent.drivers.camera.worker import Worker

log = logging.getLogger("sitewatch.agent.camera")

# The analysis thread counts as stalled after this many of its periods without a pass.
STALLED_PERIODS = 10


class CameraDriver(Driver[CameraConfig]):
    kind = "camera"
    uses_base_dir = True

    def __init__(self, config: CameraConfig, *, base_dir: Path | None = None) -> None:
        super().__init__(config)
        # Relative file sources and the baseline folder are resolved against the config file's folder.
        self.base_dir = base_dir if base_dir is not None else Path.cwd()
        self._grabber: Grabber | None = None
        self._worker: Worker | None = None
        self._watcher: CameraWatcher | None = None
        self._snapshots: SnapshotStore | None = None
        self._steady: Steady | None = None
        self._poll_now: datetime | None = None
        self._poll_mono = 0.0

    def start(self) -> None:
        # Imported here: OpenCV and numpy load only when a camera is actually run.
        import cv2  # noqa: PLC0415

        from agent.drivers.camera import baseline_store  # noqa: PLC0415
        from agent.drivers.camera.analysis.analyser import CameraAnalyser  # noqa: PLC0415
        from agent.drivers.camera.capture import Timeouts  # noqa: PLC0415
        from agent.drivers.camera.grabber import Backoff, Grabber  # noqa: PLC0415
        from agent.drivers.camera.openers import make_opener  # noqa: PLC0415
        from agent.drivers.camera.report import Steady  # noqa: PLC0415
        from agent.drivers.camera.snapshot import SnapshotStore  # noqa: PLC0415
        from agent.drivers.camera.worker import SnapshotLimits, Worker  # noqa: PLC0415

        self.close()
        # Each camera already has its own threads; OpenCV's pool on top costs more than it saves on frames
        # this small (process-wide, and the cameras are the agent's only OpenCV users).
        cv2.setNumThreads(1)
        # Nor OpenCL: frames this small gain nothing on a GPU, and where a GPU driver is installed OpenCV
        # would load and initialise it on the first HOG or MOG2 call (here: 0.14 MB of code even without one).
        cv2.ocl.setUseOpenCL(False)
        c = self.config
        files = baseline_store.baseline_files(self.base_dir, c.baseline_dir, c.id)
        baseline = baseline_store.load(files)
        if baseline is None:
            log.warning("camera %s: no baseline in %s: tamper checks are off", c.id, files.folder)
        timeouts = Timeouts(open_s=c.open_timeout_s, read_s=c.read_timeout_s)
        spec = c.source_spec
        opener = make_opener(spec, base_dir=self.base_dir, timeouts=timeouts, loop=c.loop, colour=c.colour)
        # A blocked open or read gets its own timeout plus a margin before the watchdog gives up on it.
        stall = max(c.open_timeout_s, c.read_timeout_s) + 5.0
        grabber = Grabber(c.id, opener, Backoff(c.reconnect_min_s, c.reconnect_max_s), stall_after_s=stall)
        try:
            analyser = CameraAnalyser(c.analysis(), baseline)
        except (ValueError, FileNotFoundError) as exc:
            raise CameraError(f"camera {c.id}: cannot set up the analysis: {exc}") from exc
        self._snapshots = SnapshotStore()
        self._steady = Steady()
        limits = SnapshotLimits(c.snapshot_width, c.snapshot_max_bytes)
        worker = Worker(c.id, grabber, analyser, 1.0 / c.fps, snapshots=self._snapshots, limits=limits)
        grabber.start()
        worker.start()
        self._grabber, self._worker = grabber, worker
        if spec.kind == "usb" and spec.by_serial:
            self._watch_usb(grabber)

    def _watch_usb(self, grabber: Grabber) -> None:
        from agent.drivers.camera.udev import CameraWatcher, VideoDevice  # noqa: PLC0415

        def changed(action: str, device: VideoDevice) -> None:
            if action == "add" and device.serial == self.config.source_spec.target:
                grabber.nudge()

        watcher = CameraWatcher(changed)
        try:
            watcher.start()
        except Exception as exc:  # noqa: BLE001  # no netlink (containers): the backoff still finds the camera again
            log.warning(
                "camera %s: cannot watch udev (%s); replugging is noticed at the next retry", self.config.id, exc
            )
            return
        self._watcher = watcher

    def poll(self, now: datetime) -> DeviceState:
        from agent.drivers.camera import report  # noqa: PLC0415

        worker, grabber, steady = self._worker, self._grabber, self._steady
        if worker is None or grabber is None or steady is None:
            raise CameraError(f"camera {self.config.id} polled before start")
        mono = time.monotonic()
        self._poll_now, self._poll_mono = now, mono
        if worker.error:
            raise CameraError(worker.error)
        last = worker.last_step
        if last is not None and mono - last > STALLED_PERIODS * worker.period_s:
            raise CameraError(f"analysis stalled: no pass for {mono - last:.0f} s")
        analysis = worker.latest()
        latest = self._snapshots.latest_sha256() if self._snapshots is not None else ""
        info = report.details(
            self.config.id,
            self.config.source_spec.kind,
            analysis,
            grabber=grabber.status(),
            steady=steady,
            latest_snapshot=latest,
            events_dropped=worker.dropped,
        )
        return self.state(report.status_of(analysis, worker.dropped), info)

    def events(self) -> list[DriverEvent]:
        from agent.drivers.camera import report  # noqa: PLC0415

        if self._worker is None or self._poll_now is None:
            return []
        now, mono = self._poll_now, self._poll_mono
        return [report.driver_event(e, now, mono) for e in self._worker.drain()]

    def take_snapshot(self, sha256: str) -> Snapshot | None:
        """The JPEG an entry/exit event refers to, handed over once (16 at most wait to be taken)."""
        return self._snapshots.take(sha256) if self._snapshots is not None else None

    def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.stop()
        worker, self._worker = self._worker, None
        if worker is not None:
            worker.stop()
        grabber, self._grabber = self._grabber, None
        if grabber is not None:
            grabber.stop()
