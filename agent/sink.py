"""The seam between "produce a message" and "deliver it".

The supervisor hands every message to a :class:`Sink` and forgets it.  The agent's sink is
:class:`agent.delivery.OutboxSink`, which makes the message durable before anything else happens; unit
tests use a list.
"""

from __future__ import annotations

from typing import Protocol

from agent.outbox import Thinned
from protocol.messages import Birth, Event, Heartbeat, Snapshot, State

AgentMessage = Birth | Heartbeat | State | Event | Snapshot


class Sink(Protocol):
    def send(self, topic: str, message: AgentMessage, *, periodic: bool = False) -> list[Thinned]:
        """Take ``message``; ``periodic`` marks a reading that may be thinned under pressure.

        Returns the periodic readings dropped to make room, for the supervisor to report as a gap.
        """
        ...
