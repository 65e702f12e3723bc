"""Candidate rosters in the database: the exam keys, the rosters in force (HMACs + masked numbers only).

The import (hub/roster/cli.py) stores; the pusher (hub/roster/push.py) reads through
:class:`RosterPushDatabase`, its own connection.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from hub.agent_push import KnownAgent
from hub.roster.load import RosterEntry
from hub.store.calendar_push import known_agents
from hub.store.connection import Connection, mapped_errors
from hub.store.handle import Database
from protocol.messages import key_id


@dataclass(frozen=True, slots=True)
class CurrentRoster:
    """The roster in force: the latest imported exam, its key, and per site (``<city>/<site>``) per room."""

    version: int
    exam: str
    key: bytes
    rooms: dict[str, dict[str, list[str]]]

    def __repr__(self) -> str:  # never print the key
        return f"CurrentRoster(version={self.version}, exam={self.exam!r}, key=<withheld>)"


def exam_key(conn: Connection, exam: str, new_key: Callable[[], bytes], now: datetime) -> bytes:
    """The exam's key, made with ``new_key`` on the first import of the exam (two imports racing get one)."""
    with mapped_errors("reading the exam key failed"):
        key = new_key()
        conn.execute(
            "INSERT INTO exam_keys (exam, key, key_id, created_at) VALUES (%s, %s, %s, %s)"
            " ON CONFLICT (exam) DO NOTHING",
            (exam, key, key_id(key), now),
        )
        row = conn.execute("SELECT key FROM exam_keys WHERE exam = %s", (exam,)).fetchone()
    assert row is not None
    return bytes(row[0])


def store_roster(
    conn: Connection,
    *,
    exam: str,
    entries: Sequence[RosterEntry],
    source: str,
    imported_by: str,
    now: datetime,
) -> int:
    """Make ``entries`` the exam's roster (replacing every room of it); returns the import's version."""
    rooms = len({(e.city, e.site, e.room) for e in entries})
    with mapped_errors("storing the roster failed"), conn.transaction():
        conn.execute("DELETE FROM roster_entries WHERE exam = %s", (exam,))
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO roster_entries (exam, city, site, room, candidate, masked)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [(exam, e.city, e.site, e.room, e.candidate, e.masked) for e in entries],
            )
        row = conn.execute(
            "INSERT INTO roster_imports (exam, imported_at, imported_by, source, candidates, rooms)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            (exam, now, imported_by, source, len(entries), rooms),
        ).fetchone()
    assert row is not None
    return int(row[0])


def roster_version(conn: Connection) -> int | None:
    with mapped_errors("reading the roster version failed"):
        row = conn.execute("SELECT max(id) FROM roster_imports").fetchone()
    return None if row is None or row[0] is None else int(row[0])


def current_roster(conn: Connection) -> CurrentRoster | None:
    """The latest import's exam with all its rooms (a later import of another exam takes over)."""
    with mapped_errors("reading the roster failed"):
        head = conn.execute(
            "SELECT i.id, i.exam, k.key FROM roster_imports i JOIN exam_keys k USING (exam) ORDER BY i.id DESC LIMIT 1"
        ).fetchone()
        if head is None:
            return None
        rows = conn.execute(
            "SELECT city || '/' || site, room, candidate FROM roster_entries WHERE exam = %s"
            " ORDER BY city, site, room, candidate",
            (head[1],),
        ).fetchall()
    rooms: dict[str, dict[str, list[str]]] = {}
    for site, room, candidate in rows:
        rooms.setdefault(str(site), {}).setdefault(str(room), []).append(str(candidate))
    return CurrentRoster(int(head[0]), str(head[1]), bytes(head[2]), rooms)


class RosterPushDatabase(Database):
    """The roster pusher's own connection (see :class:`hub.roster.push.RosterIO`)."""

    def roster_version(self) -> int | None:
        return self._run(roster_version)

    def current_roster(self) -> CurrentRoster | None:
        return self._run(current_roster)

    def known_agents(self) -> list[KnownAgent]:
        return self._run(known_agents)
