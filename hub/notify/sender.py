"""A sender: one thread per notifier, delivering its due notifications from the outbox.

The chain of stages for each notification: **dedup** — only undelivered rows are claimed, each under a
lease, so a delivered one is never sent again and two hub processes never send the same at once;
**retry** — a failure the notifier calls retryable is tried again with backoff (:mod:`.backoff`), anything
else is given up at once; **record** — the receipt or the failure is written, with an audit row.

A slow or unreachable notifier only delays its own queue: each has its thread and connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from hub.errors import StoreError
from hub.notify.backoff import RetryPolicy, retry_at
from hub.notify.base import Notification, Notifier
from hub.notify.errors import NotifyError
from hub.stats import Stats
from hub.store import notifications
from hub.store.notifications import Queued
from hub.store.wakeup import ListeningDatabase

log = logging.getLogger("sitewatch.hub.notify")

CHANNEL = "sitewatch_outbox"


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Sender:
    def __init__(
        self,
        dsn: str,
        notifier: Notifier,
        retry: RetryPolicy,
        stats: Stats,
        *,
        lease_s: float = 60.0,
        idle_s: float = 1.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.notifier = notifier
        self._db = ListeningDatabase(dsn, f"sitewatch-send-{notifier.target}"[:63], CHANNEL)
        self._retry = retry
        self._stats = stats
        self._lease_s = lease_s
        self._idle_s = idle_s
        self._clock = clock
        self._failing = False

    def run(self, stop: threading.Event) -> None:
        target = self.notifier.target
        try:
            while not stop.is_set():
                try:
                    batch = self._db.run(lambda c: notifications.claim(c, target, self._clock(), lease_s=self._lease_s))
                    for q in batch:
                        if stop.is_set():
                            break  # the lease brings it back on the next start
                        self.deliver(q)
                    if batch:
                        continue
                    due = self._db.run(lambda c: notifications.next_due(c, target))
                    wait = self._idle_s
                    if due is not None:
                        wait = min(wait, max((due - self._clock()).total_seconds(), 0.01))
                    self._db.wait(wait)
                    self._recovered()
                except StoreError as exc:
                    self._outage(exc)
                    stop.wait(1.0)
        finally:
            self._db.close()

    def deliver(self, q: Queued) -> bool:
        """One attempt; True when delivered.  Store errors propagate (the lease brings the row back)."""
        n = Notification(q.key, q.target, q.event, q.payload, q.attempts)
        try:
            receipt = self.notifier.send(n)
        except NotifyError as exc:
            return self._failed(q, str(exc), exc.retryable)
        except Exception as exc:  # a notifier bug must not kill the sender; the row is given up, loudly
            log.exception("%s: notifier crashed on notification %d", q.target, q.id)
            return self._failed(q, f"notifier crashed: {exc!r}", False)
        now = self._clock()
        self._db.run(lambda c: notifications.delivered(c, q, receipt, now))
        self._stats.add("notify_delivered")
        return True

    def close(self) -> None:
        self._db.close()

    def _failed(self, q: Queued, error: str, retryable: bool) -> bool:
        now = self._clock()
        again = retry_at(attempts=q.attempts, created_at=q.created_at, now=now, retryable=retryable, policy=self._retry)
        self._db.run(lambda c: notifications.failed(c, q, error, now, retry_at=again))
        self._stats.add("notify_failures")
        if again is None:
            self._stats.add("notify_given_up")
            log.error(
                "%s: gave up on notification %d (%s) after %d attempt(s): %s",
                q.target,
                q.id,
                q.event,
                q.attempts,
                error,
            )
        else:
            log.warning(
                "%s: notification %d (%s) failed, retrying at %s: %s",
                q.target,
                q.id,
                q.event,
                again.isoformat(timespec="seconds"),
                error,
            )
        return False

    def _outage(self, exc: StoreError) -> None:
        if not self._failing:
            log.warning("%s: sender paused, database unavailable: %s", self.notifier.target, exc)
            self._failing = True

    def _recovered(self) -> None:
        if self._failing:
            log.info("%s: sender resumed", self.notifier.target)
            self._failing = False
