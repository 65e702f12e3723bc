"""Durable hand-off: every message goes into the outbox first; :class:`agent.pump.Pump` delivers it.

The birth is special twice over: it is stored once per boot (it ends up in the hub's record like any
message), and the *current* birth is also published retained on every connection, straight from memory,
so that a retained birth is never one replayed from an older boot.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from agent.outbox import Outbox, Priority, Record, Thinned
from agent.sink import AgentMessage
from protocol.codec import encode
from protocol.messages import Birth, Heartbeat


class OutboxSink:
    def __init__(self, outbox: Outbox, wall: Callable[[], float] = time.time) -> None:
        self.outbox = outbox
        self._wall = wall
        self._lock = threading.Lock()
        self._birth: tuple[str, Birth] | None = None
        self._birth_version = 0
        self._stored_births: set[str] = set()
        # Set on every new message, so the pump delivers at once instead of on its next tick.
        self.wake = threading.Event()

    def send(self, topic: str, message: AgentMessage, *, periodic: bool = False) -> list[Thinned]:
        if isinstance(message, Birth):
            with self._lock:
                self._birth = (topic, message)
                self._birth_version += 1
                first = message.boot not in self._stored_births
                self._stored_births.add(message.boot)
            if not first:
                # Re-sent on a reconnect: the stored copy of this boot's birth is already on its way.
                self.wake.set()
                return []
        priority = Priority.PERIODIC if periodic or isinstance(message, Heartbeat) else Priority.KEEP
        record = Record(message.boot, message.seq, topic, encode(message), priority, self._wall())
        thinned = self.outbox.append(record)
        self.wake.set()
        return thinned

    def current_birth(self) -> tuple[int, tuple[str, Birth] | None]:
        """The latest birth and a version number that changes whenever a new one is produced."""
        with self._lock:
            return self._birth_version, self._birth
