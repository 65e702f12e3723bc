"""Entry and exit snapshots: a JPEG no larger than a byte budget, named by its SHA-256.

Events carry only the reference (hash, size); the bytes wait in a small in-memory store on the agent
until the supervisor takes them to send them on (then only the outbox has them), or they age out.
Snapshots show people: they are never logged.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2

from agent.drivers.camera.analysis.image import Image, resized

QUALITIES = (85, 75, 65, 55, 45, 35, 25)


@dataclass(frozen=True, slots=True)
class Snapshot:
    sha256: str
    jpeg: bytes
    width: int
    height: int

    @property
    def size(self) -> int:
        return len(self.jpeg)


def encode(frame: Image, max_width: int, max_bytes: int) -> Snapshot | None:
    """``frame`` as a JPEG within ``max_bytes``: lower quality first, then half the size; None if impossible."""
    picture = resized(frame, min(max_width, frame.shape[1]))
    while picture.shape[1] >= 64:
        for quality in QUALITIES:
            ok, buffer = cv2.imencode(".jpg", picture, [cv2.IMWRITE_JPEG_QUALITY, quality])
            if ok and buffer.size <= max_bytes:
                data = buffer.tobytes()
                return Snapshot(hashlib.sha256(data).hexdigest(), data, picture.shape[1], picture.shape[0])
        picture = resized(picture, picture.shape[1] // 2)
    return None


class SnapshotStore:
    """Snapshots waiting to be taken, by hash, the newest ``capacity`` of them; thread-safe (the worker
    adds, the supervisor takes).

    A taken snapshot is forgotten: it is in the outbox from then on, and holding the last 16 of each
    camera (up to 60 KB each) was 1-4 MB of a four-camera agent for nothing (issue 5).  The supervisor
    takes them every second, so only a stalled supervisor lets them age out; it counts each one missing."""

    def __init__(self, capacity: int = 16) -> None:
        self.capacity = capacity
        self._lock = threading.Lock()
        self._items: OrderedDict[str, Snapshot] = OrderedDict()
        self._latest = ""

    def add(self, snapshot: Snapshot) -> None:
        with self._lock:
            self._items[snapshot.sha256] = snapshot
            self._items.move_to_end(snapshot.sha256)
            self._latest = snapshot.sha256
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def take(self, sha256: str) -> Snapshot | None:
        with self._lock:
            return self._items.pop(sha256, None)

    def latest_sha256(self) -> str:
        """The hash of the newest snapshot made, taken or not; empty before the first."""
        with self._lock:
            return self._latest
