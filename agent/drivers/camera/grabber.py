"""One grab thread per camera: grabs every frame the source gives, converts only the one the analysis takes.

A stream must be drained (a camera's frames queue up otherwise), but the analysis takes a frame only
``fps`` times a second: the analysis asks (:meth:`Grabber.request`) for a frame grabbed at or after a
time, the thread converts (``retrieve``) the first such frame it grabs and keeps it until taken
(:meth:`Grabber.take`).  So no frame is converted for nothing, and none is held once analysed (issue 5:
a 768×432 BGR frame is 1 MB a camera).

The thread opens the source (retrying with exponential backoff), reads until a read fails, closes and
reopens.  A read that hangs (opencv #22677: after a reconnect FFmpeg can block past its timeout) cannot be
interrupted, so :meth:`Grabber.watchdog` abandons that thread and starts a fresh one; the hung thread
closes its own capture and exits whenever its read returns.  No capture is ever touched by two threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from agent.drivers.camera.analysis.image import Image
from agent.errors import DriverError

log = logging.getLogger("sitewatch.agent.camera")


class FrameSource(Protocol):
    label: str

    def grab(self) -> bool:
        """Read the next frame without converting it; False when the stream failed or ended."""

    def retrieve(self) -> Image | None:
        """The frame the last :meth:`grab` read, as an image; ``None`` when it cannot be converted."""

    def close(self) -> None: ...


Opener = Callable[[], FrameSource]


@dataclass(frozen=True, slots=True)
class Grabbed:
    frame: Image
    # Increases by one per frame grabbed (converted or not).
    seq: int
    # time.monotonic() when it was grabbed.
    at: float


@dataclass(frozen=True, slots=True)
class GrabberStatus:
    connected: bool
    # Why the last open or read failed; empty while frames flow.
    error: str
    opens: int
    abandoned: int


@dataclass(frozen=True, slots=True)
class Backoff:
    min_s: float = 1.0
    max_s: float = 30.0


class Grabber:
    def __init__(self, name: str, opener: Opener, backoff: Backoff = Backoff(), stall_after_s: float = 10.0) -> None:
        self.name = name
        self._opener = opener
        self._backoff = backoff
        self.stall_after_s = stall_after_s
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # Cuts a reconnect wait short: set at stop, and when udev says the camera is back.
        self._wake = threading.Event()
        self._latest: Grabbed | None = None
        # Convert the first frame grabbed at or after this time.monotonic(); None: no frame wanted.
        self._wanted: float | None = 0.0
        self._seq = 0
        self._generation = 0
        # monotonic time the current thread entered a blocking open or read; None when not blocked.
        self._blocked_since: float | None = None
        self._connected = False
        self._error = ""
        self._opens = 0
        self._abandoned = 0
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        self._stop.clear()
        self._wake.clear()
        self._spawn()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask every grab thread to end and wait up to ``timeout`` for them; a hung one is left behind."""
        self._stop.set()
        self._wake.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        if self._threads:
            log.warning(
                "camera %s: %d grab thread(s) still blocked in the source at stop", self.name, len(self._threads)
            )

    def nudge(self) -> None:
        """Retry opening now instead of at the end of the backoff; safe from any thread, never blocks."""
        self._wake.set()

    def request(self, at: float) -> None:
        """Ask for the first frame grabbed at or after ``at`` (time.monotonic()); it waits for :meth:`take`."""
        with self._lock:
            self._wanted = at

    def take(self) -> Grabbed | None:
        """The frame asked for, once: the grabber keeps no reference to it.  None when none came since."""
        with self._lock:
            taken, self._latest = self._latest, None
            return taken

    def latest(self) -> Grabbed | None:
        """The frame waiting to be taken, if any (it stays)."""
        with self._lock:
            return self._latest

    def status(self) -> GrabberStatus:
        with self._lock:
            return GrabberStatus(self._connected, self._error, self._opens, self._abandoned)

    def watchdog(self, now: float) -> bool:
        """Abandon the grab thread if it has been blocked longer than ``stall_after_s``; True if it did."""
        with self._lock:
            blocked = self._blocked_since
            if self._stop.is_set() or blocked is None or now - blocked < self.stall_after_s:
                return False
            self._abandoned += 1
            self._connected = False
            self._error = f"source blocked for {now - blocked:.0f} s: abandoned, reopening"
        log.warning("camera %s: %s", self.name, self._error)
        self._spawn()
        return True

    def _spawn(self) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation
            self._blocked_since = None
        thread = threading.Thread(
            target=self._run, args=(generation,), name=f"camera-grab-{self.name}-{generation}", daemon=True
        )
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _current(self, generation: int) -> bool:
        return not self._stop.is_set() and generation == self._generation

    def _run(self, generation: int) -> None:
        # A thread callback must never raise: everything is caught and becomes the status.
        delay = self._backoff.min_s
        while self._current(generation):
            source = self._open(generation)
            if source is None:
                self._pause(delay)
                delay = min(delay * 2, self._backoff.max_s)
                continue
            delay = self._backoff.min_s
            try:
                self._pump(generation, source)
            finally:
                try:
                    source.close()
                except Exception:  # closing a broken capture may fail too; the next open is what matters
                    log.debug("camera %s: close failed", self.name, exc_info=True)
            if self._current(generation):
                self._pause(self._backoff.min_s)

    def _pause(self, seconds: float) -> None:
        if self._wake.wait(seconds) and not self._stop.is_set():
            self._wake.clear()

    def _open(self, generation: int) -> FrameSource | None:
        self._blocked(generation, time.monotonic())
        try:
            source = self._opener()
        except DriverError as exc:
            self._failed(generation, str(exc))
            return None
        except Exception as exc:  # noqa: BLE001  # an unexpected library error must not kill the thread
            self._failed(generation, f"{type(exc).__name__}: {exc}")
            return None
        finally:
            self._blocked(generation, None)
        with self._lock:
            if generation == self._generation:
                self._opens += 1
        return source

    def _pump(self, generation: int, source: FrameSource) -> None:
        while self._current(generation):
            self._blocked(generation, time.monotonic())
            try:
                grabbed = source.grab()
            except Exception as exc:  # noqa: BLE001  # a capture that raises is a capture that failed
                self._failed(generation, f"read failed: {type(exc).__name__}: {exc}")
                return
            finally:
                self._blocked(generation, None)
            if not grabbed:
                self._failed(generation, f"no frame from {source.label} (stream ended or timed out)")
                return
            at = time.monotonic()
            with self._lock:
                if generation != self._generation:
                    return
                self._seq += 1
                self._connected = True
                self._error = ""
                wanted = self._wanted is not None and at >= self._wanted
            if wanted and not self._convert(generation, source, at):
                return

    def _convert(self, generation: int, source: FrameSource, at: float) -> bool:
        """Retrieve the frame just grabbed and keep it for :meth:`take`; False when the source failed."""
        try:
            frame = source.retrieve()
        except Exception as exc:  # noqa: BLE001  # as for a read
            self._failed(generation, f"read failed: {type(exc).__name__}: {exc}")
            return False
        if frame is None:
            self._failed(generation, f"cannot convert a frame from {source.label}")
            return False
        with self._lock:
            if generation != self._generation:
                return False
            self._latest = Grabbed(frame, self._seq, at)
            # A request made while converting, for a later time, stays for a later frame.
            if self._wanted is not None and self._wanted <= at:
                self._wanted = None
        return True

    def _blocked(self, generation: int, since: float | None) -> None:
        with self._lock:
            if generation == self._generation:
                self._blocked_since = since

    def _failed(self, generation: int, error: str) -> None:
        with self._lock:
            if generation != self._generation:
                return
            if error != self._error:
                log.info("camera %s: %s", self.name, error)
            self._connected = False
            self._error = error
