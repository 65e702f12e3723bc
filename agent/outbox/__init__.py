"""The durable outbox: every message the agent produces waits here until the hub says it is committed.

Records are deleted only on the hub's application-level acknowledgement (never on the broker's PUBACK),
so a lost link, a restarted broker or a killed agent loses nothing.  Two implementations share one
contract (tests/outbox runs the same suite against both): :class:`SqliteOutbox` for the agent,
:class:`MemoryOutbox` as the seam for unit tests.
"""

from agent.outbox.base import Outbox, OutboxError, OutboxStats, Priority, Record, Thinned
from agent.outbox.memory import MemoryOutbox
from agent.outbox.sqlite import SqliteOutbox

__all__ = ["MemoryOutbox", "Outbox", "OutboxError", "OutboxStats", "Priority", "Record", "SqliteOutbox", "Thinned"]
