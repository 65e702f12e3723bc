"""Opening connections and mapping psycopg's errors onto the hub's.

The split that matters to callers: :class:`StoreUnavailable` (the server is down, restarting, out of
resources, or we lost a deadlock — the same work will succeed later, so keep it and retry) versus
:class:`StoreError` (the server refused this content — retrying is pointless; isolate it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import TupleRow

from hub.errors import StoreError, StoreUnavailable

log = logging.getLogger("sitewatch.hub.store")

Connection = psycopg.Connection[TupleRow]

# SQLSTATE classes that say "not now" rather than "not this": connection exceptions, operator
# intervention (shutdown, crash recovery), insufficient resources, transaction rollback (deadlock).
_RETRYABLE_CLASSES = ("08", "57", "53", "40")

CONNECT_TIMEOUT_S = 5


def is_retryable(exc: psycopg.Error) -> bool:
    state = exc.sqlstate
    # No SQLSTATE means the client gave up: refused connection, closed socket, pool timeout.
    return state is None or state.startswith(_RETRYABLE_CLASSES)


@contextmanager
def mapped_errors(what: str) -> Iterator[None]:
    try:
        yield
    except psycopg.Error as exc:
        if is_retryable(exc):
            raise StoreUnavailable(f"{what}: {exc}".strip()) from exc
        raise StoreError(f"{what}: {exc}".strip()) from exc


def connect(dsn: str, application_name: str) -> Connection:
    """One autocommit connection; callers open explicit transactions for their writes."""
    with mapped_errors("cannot connect to the database"):
        conn: Connection = psycopg.connect(
            dsn, autocommit=True, application_name=application_name, connect_timeout=CONNECT_TIMEOUT_S
        )
    return conn


def wait_for_database(
    dsn: str, application_name: str, stop: threading.Event, max_delay_s: float = 5.0, remind_every_s: float = 60.0
) -> Connection:
    """Connect, retrying with backoff until it works or ``stop`` is set (then StoreUnavailable).

    A wrong password looks like an outage from here (no SQLSTATE before the session exists), so the
    reason is repeated every ``remind_every_s`` rather than logged once and forgotten.
    """
    delay = 0.25
    began = time.monotonic()
    next_log = began
    failed = False
    while True:
        try:
            conn = connect(dsn, application_name)
        except StoreUnavailable as exc:
            failed = True
            now = time.monotonic()
            if now >= next_log:
                waited = f" (waiting for {now - began:.0f} s)" if now > began + 1 else ""
                log.warning("database unavailable, retrying until it is%s: %s", waited, exc)
                next_log = now + remind_every_s
            if stop.wait(delay):
                raise
            delay = min(delay * 2, max_delay_s)
            continue
        if failed:
            log.info("database reachable after %.0f s", time.monotonic() - began)
        return conn


def close_quietly(conn: Connection | None) -> None:
    if conn is None:
        return
    try:
        conn.close()
    except psycopg.Error as exc:
        log.debug("closing a connection failed: %s", exc)
