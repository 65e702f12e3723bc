"""Sign-in rate limit: failures counted per username and per client address in a sliding window.

In memory (one hub serves the dashboard; a restart forgets, which is acceptable for minutes-long
windows).  Pure apart from the lock: the caller passes the time.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    per_user: int = 5
    per_client: int = 20
    window_s: float = 300.0


class SignInLimiter:
    def __init__(self, limits: Limits, max_keys: int = 10_000) -> None:
        self._limits = limits
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.get(key)
        if times is None:
            return deque()
        while times and times[0] <= now - self._limits.window_s:
            times.popleft()
        if not times:
            del self._failures[key]
        return times

    def retry_after(self, username: str, client: str, now: float) -> float:
        """0 when an attempt may be made now, else the seconds until one may."""
        with self._lock:
            waits = []
            for key, limit in (
                (f"u:{username.lower()}", self._limits.per_user),
                (f"c:{client}", self._limits.per_client),
            ):
                times = self._recent(key, now)
                if len(times) >= limit:
                    waits.append(times[len(times) - limit] + self._limits.window_s - now)
            return max(waits, default=0.0)

    def failed(self, username: str, client: str, now: float) -> None:
        with self._lock:
            if len(self._failures) >= self._max_keys:
                # A flood of made-up names must not grow memory without bound; forget the oldest.
                oldest = min(self._failures, key=lambda k: self._failures[k][-1] if self._failures[k] else 0.0)
                del self._failures[oldest]
            for key in (f"u:{username.lower()}", f"c:{client}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{username.lower()}", None)
