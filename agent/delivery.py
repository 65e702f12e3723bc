"""Durable hand-off: every message goes into the outbox first; :class:`agent.pump.Pump` delivers it.

The birth is special twice over: each one is stored once (the first of a boot, and every fresh birth
after an inventory change under its own seq: it ends up in the hub's record like any message), and the
*current* birth is also published retained on every connection and whenever it changes, straight from
memory, so that a retained birth is never one replayed from an older boot.
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
        self._stored_births: set[tuple[str, int]] = set()
        # Set on every new message, so the pump delivers at once instead of on its next tick.
        self.wake = threading.Event()

    def send(self, topic: str, message: AgentMessage, *, periodic: bool = False) -> list[Thinned]:
        """Raises :class:`protocol.errors.SchemaError`, having kept nothing, when ``message`` is not valid."""
        # Encoded (so checked) first: a message the hub would refuse must not become the current birth.
        payload = encode(message)
        if isinstance(message, Birth):
            with self._lock:
                self._birth = (topic, message)
                self._birth_version += 1
                first = (message.boot, message.seq) not in self._stored_births
                self._stored_births.add((message.boot, message.seq))
            if not first:
                # Re-sent on a reconnect: the stored copy of this birth is already on its way.
                self.wake.set()
                return []
        priority = Priority.PERIODIC if periodic or isinstance(message, Heartbeat) else Priority.KEEP
        record = Record(message.boot, message.seq, topic, payload, priority, self._wall())
        thinned = self.outbox.append(record)
        self.wake.set()
        return thinned

    def current_birth(self) -> tuple[int, tuple[str, Birth] | None]:
        """The latest birth and a version number that changes whenever a new one is produced."""
        with self._lock:
            return self._birth_version, self._birth
