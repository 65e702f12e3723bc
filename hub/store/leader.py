"""Once-only work across hub processes: whoever holds a PostgreSQL advisory lock does it.

A session-level ``pg_try_advisory_lock`` is held as long as the connection lives; when that hub dies
(or its connection breaks) PostgreSQL releases the lock and the next hub to ask takes over.  No
heartbeat table, no clock agreement between hubs.
"""

from __future__ import annotations

from hub.store.connection import Connection, mapped_errors

# An arbitrary constant: the lock name space is per database, shared with nothing else of ours.
LEADER_LOCK_KEY = 0x5357_4C44  # "SWLD"


def try_lead(conn: Connection) -> bool:
    with mapped_errors("taking the leader lock failed"):
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (LEADER_LOCK_KEY,)).fetchone()
    return bool(row and row[0])
