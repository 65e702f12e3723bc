"""Connection owners: one dedicated connection per worker thread, a small pool for the web."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TypeVar

from psycopg_pool import ConnectionPool

from hub.errors import StoreUnavailable
from hub.liveness import Transition
from hub.store import queries
from hub.store.batch import apply_batch
from hub.store.connection import CONNECT_TIMEOUT_S, Connection, close_quietly, connect, mapped_errors
from hub.store.gaps import GapReport, track_gaps
from hub.store.leader import try_lead
from hub.store.queries import AlertState
from hub.store.records import AlertRow, BatchResult, Item, SitesSnapshot, StorageInfo
from hub.store.sweep import sweep_stale

log = logging.getLogger("sitewatch.hub.store")

T = TypeVar("T")


class Database:
    """A connection owned by one thread (the writer or the sweeper), reopened after it breaks.

    Not thread-safe on purpose: each worker has its own, so a slow sweep never waits behind a batch.
    """

    def __init__(self, dsn: str, application_name: str) -> None:
        self._dsn = dsn
        self._name = application_name
        self._conn: Connection | None = None
        # The connection on which this process holds the leader lock (None: not the leader).
        self._leading_on: Connection | None = None

    def lead(self) -> bool:
        """True while this process holds the leader lock; tries to take it when it does not.

        Autocommit connections keep a session lock across transactions; a new connection (after a
        break) has lost it and must take it again, perhaps finding another hub now holds it.
        """
        if self._leading_on is not None and self._leading_on is self._conn and not self._conn.broken:
            return True
        self._leading_on = None
        if self._run(try_lead):
            self._leading_on = self._conn
        return self._leading_on is not None

    def _run(self, work: Callable[[Connection], T]) -> T:
        if self._conn is None or self._conn.closed or self._conn.broken:
            close_quietly(self._conn)
            self._conn = None
            self._conn = connect(self._dsn, self._name)
        try:
            return work(self._conn)
        except StoreUnavailable:
            # The next call starts from a fresh connection rather than probing a half-dead one.
            close_quietly(self._conn)
            self._conn = None
            raise

    def apply_batch(self, items: Sequence[Item], now: datetime) -> BatchResult:
        return self._run(lambda conn: apply_batch(conn, items, now))

    def sweep(self, now: datetime, offline_after_s: float) -> list[Transition]:
        return self._run(lambda conn: sweep_stale(conn, now, offline_after_s))

    def track_gaps(self, now: datetime, *, timeout_s: float, window_s: float, resend_every_s: float) -> GapReport:
        return self._run(
            lambda conn: track_gaps(conn, now, timeout_s=timeout_s, window_s=window_s, resend_every_s=resend_every_s)
        )

    def close(self) -> None:
        close_quietly(self._conn)
        self._conn = None


class ReadStore:
    """What the web needs: pooled, read-only queries returning plain records."""

    def __init__(
        self, dsn: str, storage: StorageInfo, *, max_size: int = 4, timeout_s: float = 2.0, ping_timeout_s: float = 1.0
    ) -> None:
        self._ping_timeout_s = ping_timeout_s
        self.storage = storage
        self._pool: ConnectionPool[Connection] = ConnectionPool(
            dsn,
            min_size=1,
            max_size=max_size,
            timeout=timeout_s,
            open=False,
            check=ConnectionPool.check_connection,
            kwargs={"autocommit": True, "application_name": "sitewatch-hub-web", "connect_timeout": CONNECT_TIMEOUT_S},
            name="sitewatch-web",
        )

    def open(self) -> None:
        self._pool.open(wait=False)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _connection(self, timeout_s: float | None = None) -> Iterator[Connection]:
        with mapped_errors("no database connection"), self._pool.connection(timeout=timeout_s) as conn:
            yield conn

    def ping(self) -> None:
        # Short: a health check that hangs is worse than one that says "down".
        with self._connection(self._ping_timeout_s) as conn:
            queries.ping(conn)

    def sites(self) -> SitesSnapshot:
        with self._connection() as conn:
            return queries.sites_snapshot(conn)

    def alerts(self, state: AlertState) -> list[AlertRow]:
        with self._connection() as conn:
            return queries.list_alerts(conn, state)
