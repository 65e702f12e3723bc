"""A worker's own connection that also LISTENs: work happens on it, and between passes the worker sleeps
until a NOTIFY on its channel (sent when a transaction that changed something commits) or a timeout.

Notifications that arrive while a query runs are kept by psycopg and returned by the next wait, so a
change committed during a pass is never slept through.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import psycopg

from hub.errors import StoreUnavailable
from hub.store.connection import Connection, close_quietly, connect, mapped_errors

T = TypeVar("T")


class ListeningDatabase:
    def __init__(self, dsn: str, application_name: str, channel: str) -> None:
        self._dsn = dsn
        self._name = application_name
        self._channel = channel
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.closed or self._conn.broken:
            close_quietly(self._conn)
            self._conn = None
            conn = connect(self._dsn, self._name)
            with mapped_errors("LISTEN failed"):
                conn.execute(f"LISTEN {self._channel}")
            self._conn = conn
        return self._conn

    def run(self, work: Callable[[Connection], T]) -> T:
        try:
            return work(self._connection())
        except StoreUnavailable:
            self.close()  # the next call starts from a fresh connection
            raise

    def wait(self, timeout_s: float) -> bool:
        """Sleep until a notification (True) or ``timeout_s`` (False)."""
        conn = self._connection()
        try:
            return bool(list(conn.notifies(timeout=max(timeout_s, 0.0), stop_after=1)))
        except psycopg.Error as exc:
            self.close()
            raise StoreUnavailable(f"waiting for notifications failed: {exc}") from exc

    def close(self) -> None:
        close_quietly(self._conn)
        self._conn = None
