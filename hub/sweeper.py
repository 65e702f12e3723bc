"""The liveness sweeper thread: every ``sweep_s``, agents silent past the deadline go offline.

With several hub processes only the one holding the database's leader lock sweeps; if it dies its
lock is released and another takes over on its next tick.

It holds back while the writer cannot store (an outage, or just started): heartbeats waiting unacked
at the broker or in our queue would otherwise read as silence, and every agent would flap offline
and back with an alert each time the database or the hub restarts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from hub.errors import StoreError, StoreUnavailable
from hub.liveness import Transition, describe
from hub.stats import Stats

log = logging.getLogger("sitewatch.hub.liveness")


class SweepStore(Protocol):
    def lead(self) -> bool: ...

    def sweep(self, now: datetime, offline_after_s: float) -> list[Transition]: ...


class Sweeper:
    def __init__(
        self,
        store: SweepStore,
        stats: Stats,
        *,
        offline_after_s: float,
        sweep_s: float,
        writer_healthy_for: Callable[[], float],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._stats = stats
        self._offline_after_s = offline_after_s
        self._sweep_s = sweep_s
        self._writer_healthy_for = writer_healthy_for
        self._clock = clock
        self._failing = False
        self._leading = False
        stats.gauge("leader", lambda: int(self._leading))

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._sweep_s):
            self.sweep_once()

    def sweep_once(self) -> list[Transition]:
        if self._writer_healthy_for() < self._offline_after_s:
            return []
        try:
            if not self._is_leader():
                return []
            transitions = self._store.sweep(self._clock(), self._offline_after_s)
        except StoreUnavailable as exc:
            if not self._failing:
                log.warning("liveness sweep paused, database unavailable: %s", exc)
                self._failing = True
            return []
        except StoreError:
            log.exception("liveness sweep failed")
            return []
        if self._failing:
            log.info("liveness sweep resumed")
            self._failing = False
        self._stats.add("sweeps")
        self._stats.add("went_offline_stale", len(transitions))
        for t in transitions:
            log.warning("%s", describe(t))
        return transitions

    def _is_leader(self) -> bool:
        """Only one hub sweeps (and later evaluates rules): the holder of the database's leader lock."""
        leading = self._store.lead()
        if leading != self._leading:
            self._leading = leading
            log.info("%s", "this hub now runs the once-only work" if leading else "another hub runs the once-only work")
        return leading
