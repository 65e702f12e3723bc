"""Where the agent gets the time, so tests can drive it.

Two readings, because they answer different questions: ``now()`` (aware UTC) stamps messages and is
what drivers see; ``monotonic()`` schedules heartbeats and is immune to the wall clock being set.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()
