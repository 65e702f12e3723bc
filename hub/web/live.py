"""Fan-out of store change notifications to the open live streams (server-sent events).

The store's listener thread calls :meth:`LiveHub.publish`; each stream has an asyncio queue on its own
event loop, fed with ``call_soon_threadsafe`` so the listener never blocks on a slow browser.  A stream
only receives changes of the city it is scoped to.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from hub.store.live import RESYNC, Change

log = logging.getLogger("sitewatch.hub.web")

# A stream further behind than this gets one "resync" instead (its page reloads everything anyway).
MAX_BACKLOG = 50


@dataclass(eq=False)
class Subscriber:
    scope: str | None
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[list[Change]] = field(default_factory=asyncio.Queue)

    def wants(self, change: Change) -> bool:
        return change.what == RESYNC.what or self.scope is None or change.city == self.scope


class LiveHub:
    def __init__(self) -> None:
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()

    def subscribe(self, scope: str | None) -> Subscriber:
        """Call from the stream's event loop."""
        sub = Subscriber(scope, asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    @property
    def streams(self) -> int:
        with self._lock:
            return len(self._subscribers)

    def publish(self, changes: Sequence[Change]) -> None:
        """From any thread; never blocks, never raises."""
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            relevant = [c for c in changes if sub.wants(c)]
            if not relevant:
                continue
            try:
                sub.loop.call_soon_threadsafe(_offer, sub, relevant)
            except RuntimeError:  # its loop closed under us: the stream is gone
                self.unsubscribe(sub)


def _offer(sub: Subscriber, changes: list[Change]) -> None:
    if sub.queue.qsize() >= MAX_BACKLOG:
        while not sub.queue.empty():
            sub.queue.get_nowait()
        changes = [RESYNC]
    sub.queue.put_nowait(changes)
