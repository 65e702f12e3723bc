"""In-memory counters the workers bump and /healthz shows (they restart from zero with the hub)."""

from __future__ import annotations

import queue
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol


class Stats:
    """Thread-safe: paho's thread, the writer, the sweeper and the web's threads all touch it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._by_code: dict[str, Counter[str]] = {"quarantined": Counter(), "ignored": Counter()}
        self._mqtt_connected = False
        self._gauges: dict[str, Callable[[], int]] = {}

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def add_by_code(self, group: str, counts: Mapping[str, int]) -> None:
        with self._lock:
            self._by_code.setdefault(group, Counter()).update(counts)

    def count(self, name: str) -> int:
        with self._lock:
            return self._counts[name]

    def set_mqtt_connected(self, connected: bool) -> None:
        with self._lock:
            self._mqtt_connected = connected

    @property
    def mqtt_connected(self) -> bool:
        with self._lock:
            return self._mqtt_connected

    def gauge(self, name: str, read: Callable[[], int]) -> None:
        """Register a value read at snapshot time (e.g. the ingest queue depth)."""
        with self._lock:
            self._gauges[name] = read

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            out: dict[str, Any] = dict(sorted(self._counts.items()))
            for group, counter in self._by_code.items():
                out[group] = dict(sorted(counter.items()))
            gauges = dict(self._gauges)
        for name, read in gauges.items():
            out[name] = read()
        return out


class _Received(Protocol):
    @property
    def received_at(self) -> datetime: ...


def queue_reader(inbox: queue.Queue[Any]) -> Callable[[], tuple[int, float | None]]:
    """Depth of a queue of received messages and the age of its oldest (seconds), read without taking it:
    the ingest lag the hub's health rules watch."""

    def read() -> tuple[int, float | None]:
        with inbox.mutex:
            depth = len(inbox.queue)
            head: _Received | None = inbox.queue[0] if depth else None
        age = None if head is None else max((datetime.now(UTC) - head.received_at).total_seconds(), 0.0)
        return depth, age

    return read
