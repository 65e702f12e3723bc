"""The exam plan in the database: imported calendars, arrival reports, go / no-go results.

:class:`PlanStore` is the dashboard's side (over the web's pool): reading the plan, recording an arrival
report, and running a go / no-go on demand (it implements :class:`hub.rules.readiness.ReadinessIO`).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from hub.calendar import Inventory
from hub.rules.changes import AlertChange
from hub.rules.gonogo import GoNoGo
from hub.rules.site import SiteView
from hub.store.connection import Connection, mapped_errors
from hub.store.handle import ReadStore


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    version: int
    imported_at: datetime
    imported_by: str
    source: str
    sha256: str
    sessions: int
    sites: int


@dataclass(frozen=True, slots=True)
class ArrivalRow:
    id: int
    city: str
    site: str
    arrived_at: datetime
    reported_at: datetime
    reported_by: str
    comment: str


@dataclass(frozen=True, slots=True)
class GoNoGoRow:
    id: int
    city: str
    site: str
    session: str | None
    green: bool
    reasons: tuple[str, ...]
    checks: tuple[dict[str, Any], ...]
    evaluated_at: datetime
    trigger: str
    requested_by: str


# --- calendars ---------------------------------------------------------------------------------------


def store_calendar(
    conn: Connection,
    *,
    content: str,
    source: str,
    sha256: str,
    sessions: int,
    sites: int,
    imported_by: str,
    now: datetime,
) -> int:
    """Make ``content`` the calendar in force; returns its version."""
    with mapped_errors("storing the calendar failed"):
        row = conn.execute(
            "INSERT INTO calendars (imported_at, imported_by, source, sha256, content, sessions, sites)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (now, imported_by, source, sha256, content, sessions, sites),
        ).fetchone()
    assert row is not None
    return int(row[0])


def calendar_version(conn: Connection) -> int | None:
    with mapped_errors("reading the calendar version failed"):
        row = conn.execute("SELECT max(id) FROM calendars").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def latest_calendar(conn: Connection) -> tuple[int, str] | None:
    with mapped_errors("reading the calendar failed"):
        row = conn.execute("SELECT id, content FROM calendars ORDER BY id DESC LIMIT 1").fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def calendar_info(conn: Connection) -> CalendarInfo | None:
    with mapped_errors("reading the calendar failed"):
        row = conn.execute(
            "SELECT id, imported_at, imported_by, source, sha256, sessions, sites FROM calendars"
            " ORDER BY id DESC LIMIT 1"
        ).fetchone()
    return None if row is None else CalendarInfo(*row)


def inventory(conn: Connection) -> Inventory:
    """The sites the hub knows (``<city>/<site>``) and the rooms their devices are in."""
    with mapped_errors("reading the inventory failed"):
        rows = conn.execute(
            "SELECT a.city || '/' || a.site, d.room FROM agents a LEFT JOIN devices d USING (agent_id)"
        ).fetchall()
    rooms: dict[str, set[str]] = {}
    for site, room in rows:
        known = rooms.setdefault(site, set())
        if room:
            known.add(room)
    return rooms


# --- arrival reports ---------------------------------------------------------------------------------


def record_arrival(
    conn: Connection, *, city: str, site: str, arrived_at: datetime, reported_at: datetime, reported_by: str,
    comment: str,
) -> ArrivalRow:  # fmt: skip
    with mapped_errors("recording the arrival report failed"):
        row = conn.execute(
            "INSERT INTO arrival_reports (city, site, arrived_at, reported_at, reported_by, comment)"
            " VALUES (%s, %s, %s, %s, %s, %s)"
            " RETURNING id, city, site, arrived_at, reported_at, reported_by, comment",
            (city, site, arrived_at, reported_at, reported_by, comment),
        ).fetchone()
    assert row is not None
    return ArrivalRow(*row)


def earliest_arrivals(conn: Connection, since: datetime) -> dict[str, datetime]:
    """The earliest arrival at or after ``since`` per site (``<city>/<site>``): an older one belongs to an
    earlier exam period."""
    with mapped_errors("reading arrival reports failed"):
        rows = conn.execute(
            "SELECT city || '/' || site, min(arrived_at) FROM arrival_reports WHERE arrived_at >= %s"
            " GROUP BY city, site",
            (since,),
        ).fetchall()
    return {str(site): cast(datetime, at) for site, at in rows}


def arrival_reports(conn: Connection, city: str | None, since: datetime) -> list[ArrivalRow]:
    with mapped_errors("reading arrival reports failed"):
        rows = conn.execute(
            "SELECT id, city, site, arrived_at, reported_at, reported_by, comment FROM arrival_reports"
            " WHERE arrived_at >= %s AND (%s::text IS NULL OR city = %s) ORDER BY arrived_at, id",
            (since, city, city),
        ).fetchall()
    return [ArrivalRow(*r) for r in rows]


# --- go / no-go --------------------------------------------------------------------------------------


def record_gonogo(conn: Connection, result: GoNoGo, trigger: str, requested_by: str) -> int:
    city, site = result.site.split("/", 1)
    checks = [{"name": c.name, "ok": c.ok, "reasons": list(c.reasons)} for c in result.checks]
    with mapped_errors("recording the go / no-go failed"):
        row = conn.execute(
            "INSERT INTO gonogo_results (city, site, session, green, reasons, checks, evaluated_at, trigger,"
            " requested_by) VALUES (%s, %s, %s, %s, %s::jsonb, %s::jsonb, %s, %s, %s) RETURNING id",
            (city, site, result.session, result.green, json.dumps(list(result.reasons)), json.dumps(checks),
             result.at, trigger, requested_by),
        ).fetchone()  # fmt: skip
    assert row is not None
    return int(row[0])


def latest_gonogo(conn: Connection, city: str | None) -> list[GoNoGoRow]:
    """Each site's latest result (any session), by city and site."""
    with mapped_errors("reading go / no-go results failed"):
        rows = conn.execute(
            "SELECT DISTINCT ON (city, site) id, city, site, session, green, reasons, checks, evaluated_at,"
            " trigger, requested_by FROM gonogo_results WHERE %s::text IS NULL OR city = %s"
            " ORDER BY city, site, evaluated_at DESC, id DESC",
            (city, city),
        ).fetchall()
    return [
        GoNoGoRow(i, c, s, sess, bool(g), tuple(str(r) for r in reasons), tuple(dict(x) for x in checks), at, trig, by)
        for i, c, s, sess, g, reasons, checks, at, trig, by in rows
    ]


# --- the dashboard's side ----------------------------------------------------------------------------


class PlanStore:
    """The exam plan over the web's pool; also what an on-demand go / no-go reads and writes."""

    def __init__(self, store: ReadStore) -> None:
        self._store = store

    @contextmanager
    def _conn(self) -> Iterator[Connection]:
        # The web's pool (its connections are autocommit; writes open their own transactions).
        with self._store._connection() as conn:  # same package: the web has one pool
            yield conn

    def calendar_info(self) -> CalendarInfo | None:
        with self._conn() as conn:
            return calendar_info(conn)

    def latest_calendar(self) -> tuple[int, str] | None:
        with self._conn() as conn:
            return latest_calendar(conn)

    def arrival_reports(self, city: str | None, since: datetime) -> list[ArrivalRow]:
        with self._conn() as conn:
            return arrival_reports(conn, city, since)

    def record_arrival(
        self, *, city: str, site: str, arrived_at: datetime, reported_at: datetime, reported_by: str, comment: str
    ) -> ArrivalRow:
        with self._conn() as conn:
            return record_arrival(conn, city=city, site=site, arrived_at=arrived_at, reported_at=reported_at,
                                  reported_by=reported_by, comment=comment)  # fmt: skip

    def latest_gonogo(self, city: str | None) -> list[GoNoGoRow]:
        with self._conn() as conn:
            return latest_gonogo(conn, city)

    def known_sites(self) -> frozenset[str]:
        with self._conn() as conn:
            return frozenset(inventory(conn))

    # ReadinessIO
    def site_views(self, sites: Collection[str], now: datetime) -> Mapping[str, SiteView]:
        from hub.store.rules_input import site_views  # noqa: PLC0415  # rules_input imports this module

        with self._conn() as conn:
            return site_views(conn, sites, now)

    def record_gonogo(self, result: GoNoGo, trigger: str, requested_by: str) -> None:
        with self._conn() as conn:
            record_gonogo(conn, result, trigger, requested_by)

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        from hub.store.rules_input import apply_changes  # noqa: PLC0415

        with self._conn() as conn:
            return apply_changes(conn, changes)
