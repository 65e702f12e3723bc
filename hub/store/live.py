"""Change notifications for the live dashboard: one connection LISTENing on the channel that the
triggers of migration 010 NOTIFY on when a transaction touching a site's agents, devices, alerts or
events commits.  Runs in its own thread; hands batches of :class:`Change` to a callback that must
neither raise nor block (it only enqueues)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import psycopg

from hub.errors import StoreUnavailable
from hub.store.connection import Connection, close_quietly, connect

log = logging.getLogger("sitewatch.hub.store")

CHANNEL = "sitewatch_changes"


@dataclass(frozen=True, slots=True)
class Change:
    """``what`` is agent, device, alert or event; ``resync`` (no site) means changes may have been missed."""

    what: str
    city: str = ""
    site: str = ""


RESYNC = Change("resync")


def parse_change(payload: str) -> Change | None:
    what, _, where = payload.partition(" ")
    city, _, site = where.partition("/")
    if not what or not city or not site:
        return None
    return Change(what, city, site)


Deliver = Callable[[Sequence[Change]], None]


class ChangeListener:
    """``run(stop)`` listens until ``stop`` is set, reconnecting (and announcing a resync) after an outage."""

    def __init__(self, dsn: str, deliver: Deliver, *, gather_s: float = 0.03, max_backoff_s: float = 5.0) -> None:
        self._dsn = dsn
        self._deliver = deliver
        self._gather_s = gather_s
        self._max_backoff_s = max_backoff_s
        self.connected = threading.Event()

    def run(self, stop: threading.Event) -> None:
        delay = 0.25
        listened_before = False
        while not stop.is_set():
            conn: Connection | None = None
            try:
                conn = connect(self._dsn, "sitewatch-hub-live")
                conn.execute(f"LISTEN {CHANNEL}")
                self.connected.set()
                delay = 0.25
                if listened_before:
                    self._hand_over([RESYNC])  # whatever committed while we were away was not heard
                listened_before = True
                self._listen(conn, stop)
            except (StoreUnavailable, psycopg.Error) as exc:
                if self.connected.is_set():
                    log.warning("live updates: lost the database connection, reconnecting: %s", exc)
                self.connected.clear()
                if stop.wait(delay):
                    break
                delay = min(delay * 2, self._max_backoff_s)
            finally:
                self.connected.clear()
                close_quietly(conn)

    def _listen(self, conn: Connection, stop: threading.Event) -> None:
        while not stop.is_set():
            first = list(conn.notifies(timeout=0.25, stop_after=1))
            if not first:
                continue
            # A batch commit sends a burst (one per site); take it as one delivery.
            rest = list(conn.notifies(timeout=self._gather_s))
            changes = {c for n in (*first, *rest) if (c := parse_change(n.payload)) is not None}
            if changes:
                self._hand_over(sorted(changes, key=lambda c: (c.city, c.site, c.what)))

    def _hand_over(self, changes: Sequence[Change]) -> None:
        try:
            self._deliver(changes)
        except Exception:
            log.exception("live updates: delivering changes failed")
