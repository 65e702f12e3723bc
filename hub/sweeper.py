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
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from hub.config import DeliverySection
from hub.errors import StoreError, StoreUnavailable
from hub.gaps import Hole
from hub.liveness import Transition, describe
from hub.stats import Stats
from hub.store.gaps import GapReport

log = logging.getLogger("sitewatch.hub.liveness")


class SweepStore(Protocol):
    def lead(self) -> bool: ...

    def sweep(self, now: datetime, offline_after_s: float) -> list[Transition]: ...

    def track_gaps(self, now: datetime, *, timeout_s: float, window_s: float, resend_every_s: float) -> GapReport: ...


class Sweeper:
    def __init__(
        self,
        store: SweepStore,
        stats: Stats,
        *,
        offline_after_s: float,
        sweep_s: float,
        writer_healthy_for: Callable[[], float],
        delivery: DeliverySection | None = None,
        request_resend: Callable[[Hole], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._stats = stats
        self._offline_after_s = offline_after_s
        self._sweep_s = sweep_s
        self._writer_healthy_for = writer_healthy_for
        self._clock = clock
        self._delivery = delivery or DeliverySection()
        self._request_resend = request_resend
        self._next_gap_check = 0.0
        self._failing = False
        self._leading = False
        stats.gauge("leader", lambda: int(self._leading))

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._sweep_s):
            self.sweep_once()
            if time.monotonic() >= self._next_gap_check:
                self._next_gap_check = time.monotonic() + self._delivery.gap_check_s
                self.check_gaps()

    def check_gaps(self) -> GapReport | None:
        """Leader only: record sequence gaps, alert on them, ask agents to resend, close filled ones."""
        if not self._leading or self._writer_healthy_for() < self._delivery.gap_timeout_s:
            # Right after a start or an outage the backlog is still arriving: every hole would be a false one.
            return None
        d = self._delivery
        try:
            report = self._store.track_gaps(
                self._clock(), timeout_s=d.gap_timeout_s, window_s=d.gap_window_s, resend_every_s=d.resend_every_s
            )
        except StoreError as exc:
            log.warning("gap check failed: %s", exc)
            return None
        for hole in report.opened:
            log.warning("%s", hole.describe())
        for hole in report.thinned:
            log.warning("%s (thinned by the agent to stay within its outbox bound)", hole.describe())
        for hole in report.filled:
            log.info("gap filled: %s", hole.describe())
        self._stats.add("gaps_opened", len(report.opened))
        self._stats.add("gaps_filled", len(report.filled))
        for hole in report.resend:
            self._stats.add("resend_requests")
            if self._request_resend is not None:
                self._request_resend(hole)
        return report

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
