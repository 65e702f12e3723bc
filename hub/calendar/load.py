"""Read and check a calendar file (TOML, described in hub/calendar/README.md).

All problems are collected, not just the first, and each names its line: an exam office fixing a
calendar the night before should see every mistake in one run.  Checked: the shape and type of every
key (unknown keys are errors), ``end`` after ``start``, no two sessions in one room at once, sessions
inside their city's custody period, and — given an inventory — that every site and room exists.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import tomllib
from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from hub.calendar.errors import CalendarError, CalendarProblem
from hub.calendar.lines import LineMap
from hub.calendar.model import ANY_ROOM, EXAM_TZ, Calendar, Custody, Exam, RoomRef, Session
from protocol.topics import SLUG_PATTERN

# "<city>/<site>" → the rooms that site has (from the hub's device inventory).
Inventory = Mapping[str, Collection[str]]

FORMAT_VERSION: Final = 1
MAX_SESSION: Final = timedelta(hours=12)
PLAN_VERSION_CHARS: Final = 16
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SLUG = re.compile(SLUG_PATTERN)
_ROOM = re.compile(rf"(?P<site>{SLUG_PATTERN}/{SLUG_PATTERN})/(?P<room>.{{1,64}})")
_TOP_KEYS: Final = {"version", "timezone", "jammer_on_before_minutes", "jammer_off_after_minutes"}
_TABLES: Final = {"exams", "sessions", "custody"}
_EXAM_KEYS: Final = {"id", "name"}
_SESSION_KEYS: Final = {"exam", "id", "paper", "start", "end", "checkin_minutes", "rooms"}
_CUSTODY_KEYS: Final = {"city", "collection", "arrival_due", "return"}
_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


class _Invalid(Exception):
    """One value is unusable; already recorded as a problem."""


def load_calendar(path: Path | str, inventory: Inventory | None = None) -> Calendar:
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalendarError(file, [CalendarProblem(None, "", f"cannot read: {exc}")]) from exc
    return parse_calendar(text, file, inventory)


def parse_calendar(text: str, file: str = "<calendar>", inventory: Inventory | None = None) -> Calendar:
    """Check ``text`` and build the calendar, or raise :class:`CalendarError` with every problem found."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_POSITION.match(str(exc))
        if match is None:
            raise CalendarError(file, [CalendarProblem(None, "", f"TOML syntax error: {exc}")]) from exc
        problem = CalendarProblem(int(match["line"]), "", f"TOML syntax error: {match['msg']} (column {match['col']})")
        raise CalendarError(file, [problem]) from exc
    reader = _Reader(LineMap(text), inventory)
    calendar = reader.calendar(data)
    if reader.problems:
        raise CalendarError(file, reader.problems)
    return dataclasses.replace(calendar, version=plan_version(text))


def plan_version(text: str) -> str:
    """The version agents report back: the same file gives the same version on every hub."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:PLAN_VERSION_CHARS]


class _Reader:
    def __init__(self, lines: LineMap, inventory: Inventory | None) -> None:
        self.lines = lines
        self.inventory = None if inventory is None else {site: frozenset(rooms) for site, rooms in inventory.items()}
        self.problems: list[CalendarProblem] = []
        # Cities that have a [[custody]] table, valid or not: a broken one is reported once, at its own line.
        self.custody_cities: set[str] = set()

    # --- recording -----------------------------------------------------------------------------------

    def problem(self, table: str | None, index: int, key: str, reason: str) -> None:
        line = self.lines.key(table, index, key) if key else self.lines.table(table or "", index)
        dotted = key if table is None else f"{table}[{index}].{key}" if key else f"{table}[{index}]"
        self.problems.append(CalendarProblem(line, dotted, reason))

    def line_of(self, table: str, index: int) -> int | None:
        return self.lines.table(table, index)

    # --- typed values --------------------------------------------------------------------------------

    def text(self, table: str | None, index: int, row: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str:
        value = row.get(key)
        if value is None:
            self.problem(table, index, key, "field required")
            raise _Invalid
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.problem(table, index, key, f"{value!r} is not a valid {key}")
            raise _Invalid
        return value

    def minutes(
        self, table: str | None, index: int, row: Mapping[str, Any], key: str, *, default: int, most: int
    ) -> int:
        value = row.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= most:
            self.problem(table, index, key, f"must be a whole number of minutes from 0 to {most}, not {value!r}")
            raise _Invalid
        return value

    def local_time(self, table: str, index: int, row: Mapping[str, Any], key: str) -> datetime:
        value = row.get(key)
        if value is None:
            self.problem(table, index, key, "field required")
            raise _Invalid
        if not isinstance(value, datetime):
            self.problem(table, index, key, f"must be a date and time such as 2026-05-17T09:00:00, not {value!r}")
            raise _Invalid
        if value.tzinfo is None:
            return value.replace(tzinfo=EXAM_TZ)
        if value.utcoffset() != timedelta(hours=8):
            self.problem(table, index, key, "must be Beijing time: write it without an offset (or with +08:00)")
            raise _Invalid
        return value.astimezone(EXAM_TZ)

    def unknown_keys(self, table: str | None, index: int, row: Mapping[str, Any], known: Collection[str]) -> None:
        for key in row:
            if key not in known:
                self.problem(table, index, key, "unknown key")

    def rows(self, data: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
        value = data.get(name, [])
        if not isinstance(value, list) or not all(isinstance(row, dict) for row in value):
            self.problem(None, 0, name, f"must be written as [[{name}]] tables")
            return []
        return value

    # --- the file ------------------------------------------------------------------------------------

    def calendar(self, data: Mapping[str, Any]) -> Calendar:
        self.unknown_keys(None, 0, data, _TOP_KEYS | _TABLES)
        version = data.get("version")
        if version != FORMAT_VERSION:
            self.problem(None, 0, "version", f"must be {FORMAT_VERSION} (this hub reads calendar format 1)")
        zone = data.get("timezone", "Asia/Shanghai")
        if zone != "Asia/Shanghai":
            self.problem(None, 0, "timezone", "times are Beijing time: only 'Asia/Shanghai' is accepted")
        lead = lag = 0
        try:
            lead = self.minutes(None, 0, data, "jammer_on_before_minutes", default=15, most=120)
            lag = self.minutes(None, 0, data, "jammer_off_after_minutes", default=10, most=120)
        except _Invalid:
            pass
        exams = self.exams(self.rows(data, "exams"))
        sessions = self.sessions(self.rows(data, "sessions"), {e.id for e in exams})
        custody = self.custody(self.rows(data, "custody"))
        self.overlaps(sessions)
        self.within_custody(sessions, custody)
        return Calendar(
            exams=tuple(exams),
            sessions=tuple(sorted((s for s, _ in sessions), key=lambda s: (s.start, s.id))),
            custody=tuple(custody),
            jammer_lead=timedelta(minutes=lead),
            jammer_lag=timedelta(minutes=lag),
        )

    def exams(self, rows: list[Mapping[str, Any]]) -> list[Exam]:
        exams: list[Exam] = []
        for index, row in enumerate(rows):
            self.unknown_keys("exams", index, row, _EXAM_KEYS)
            try:
                ident = self.text("exams", index, row, "id", _ID)
                name = row.get("name", ident)
                if not isinstance(name, str) or not name.strip():
                    self.problem("exams", index, "name", "must be a non-empty string")
                    continue
            except _Invalid:
                continue
            if any(e.id == ident for e in exams):
                self.problem("exams", index, "id", f"exam {ident!r} is defined twice")
                continue
            exams.append(Exam(ident, name))
        return exams

    def sessions(self, rows: list[Mapping[str, Any]], exams: set[str]) -> list[tuple[Session, int]]:
        sessions: list[tuple[Session, int]] = []
        seen: dict[str, int] = {}
        for index, row in enumerate(rows):
            self.unknown_keys("sessions", index, row, _SESSION_KEYS)
            ident = row.get("id")
            if isinstance(ident, str) and ident in seen:
                # Checked before the rest, so that a duplicate of a session with other mistakes is reported too.
                first = self.line_of("sessions", seen[ident])
                self.problem("sessions", index, "id", f"session {ident!r} is already defined (line {first})")
                continue
            if isinstance(ident, str):
                seen[ident] = index
            try:
                sessions.append((self.session(index, row, exams), index))
            except _Invalid:
                continue
        return sessions

    def session(self, index: int, row: Mapping[str, Any], exams: set[str]) -> Session:
        ident = self.text("sessions", index, row, "id", _ID)
        exam = self.text("sessions", index, row, "exam", _ID)
        if exam not in exams:
            self.problem("sessions", index, "exam", f"unknown exam {exam!r} (define it in an [[exams]] table)")
            raise _Invalid
        paper = row.get("paper")
        if not isinstance(paper, str) or not paper.strip():
            self.problem("sessions", index, "paper", "field required: the paper sat in this session")
            raise _Invalid
        start = self.local_time("sessions", index, row, "start")
        end = self.local_time("sessions", index, row, "end")
        if end <= start:
            self.problem("sessions", index, "end", f"end {_show(end)} is not after start {_show(start)}")
            raise _Invalid
        if end - start > MAX_SESSION:
            self.problem("sessions", index, "end", f"the session would last {_hours(end - start)}; more than 12 h")
            raise _Invalid
        checkin = self.minutes("sessions", index, row, "checkin_minutes", default=30, most=240)
        rooms = self.rooms(index, row.get("rooms"))
        return Session(
            exam=exam,
            id=ident,
            paper=paper,
            start=start,
            end=end,
            checkin=timedelta(minutes=checkin),
            rooms=rooms,
            line=self.line_of("sessions", index),
        )

    def rooms(self, index: int, value: object) -> tuple[RoomRef, ...]:
        if not isinstance(value, list) or not value:
            self.problem("sessions", index, "rooms", "must list the rooms taking part, e.g. ['jinan/s01/101']")
            raise _Invalid
        refs: list[RoomRef] = []
        bad = False
        for item in value:
            match = _ROOM.fullmatch(item) if isinstance(item, str) else None
            if match is None:
                self.problem("sessions", index, "rooms", f"{item!r} is not '<city>/<site>/<room>' or '<city>/<site>/*'")
                bad = True
                continue
            ref = RoomRef(match["site"], match["room"])
            if self.inventory is not None and not self.known(index, ref):
                bad = True
                continue
            if ref in refs:
                self.problem("sessions", index, "rooms", f"{ref} is listed twice")
                bad = True
                continue
            refs.append(ref)
        if bad:
            raise _Invalid
        return tuple(refs)

    def known(self, index: int, ref: RoomRef) -> bool:
        assert self.inventory is not None
        rooms = self.inventory.get(ref.site)
        if rooms is None:
            self.problem("sessions", index, "rooms", f"unknown site {ref.site} (not in the inventory)")
            return False
        if ref.room != ANY_ROOM and ref.room not in rooms:
            have = ", ".join(sorted(rooms)) or "no rooms"
            self.problem("sessions", index, "rooms", f"unknown room {ref} ({ref.site} has {have})")
            return False
        return True

    def custody(self, rows: list[Mapping[str, Any]]) -> list[Custody]:
        periods: list[Custody] = []
        for index, row in enumerate(rows):
            self.unknown_keys("custody", index, row, _CUSTODY_KEYS)
            if isinstance(row.get("city"), str):
                self.custody_cities.add(row["city"])
            try:
                city = self.text("custody", index, row, "city", _SLUG)
                collection = self.local_time("custody", index, row, "collection")
                arrival = self.local_time("custody", index, row, "arrival_due")
                returned = self.local_time("custody", index, row, "return")
            except _Invalid:
                continue
            if arrival < collection:
                self.problem(
                    "custody", index, "arrival_due", f"{_show(arrival)} is before collection {_show(collection)}"
                )
                continue
            if returned <= arrival:
                self.problem("custody", index, "return", f"{_show(returned)} is not after arrival_due {_show(arrival)}")
                continue
            if any(c.city == city for c in periods):
                self.problem("custody", index, "city", f"custody for {city} is defined twice")
                continue
            periods.append(Custody(city, collection, arrival, returned, line=self.line_of("custody", index)))
        return periods

    # --- checks across tables ------------------------------------------------------------------------

    def overlaps(self, sessions: list[tuple[Session, int]]) -> None:
        ordered = sorted(sessions, key=lambda pair: (pair[0].start, pair[1]))
        running: list[Session] = []
        for session, index in ordered:
            running = [s for s in running if s.end > session.start]
            for other in running:
                shared = next((a for a in session.rooms for b in other.rooms if a.meets(b)), None)
                if shared is not None:
                    room = shared if shared.room != ANY_ROOM else next(b for b in other.rooms if b.meets(shared))
                    self.problem(
                        "sessions",
                        index,
                        "start",
                        f"overlaps session {other.id!r} (line {other.line}) in room {room}: "
                        f"that one runs {_show(other.start)} to {_show(other.end)}",
                    )
                    break
            running.append(session)

    def within_custody(self, sessions: list[tuple[Session, int]], custody: list[Custody]) -> None:
        periods = {c.city: c for c in custody}
        missing: set[str] = set()
        for session, index in sessions:
            for city in sorted({r.city for r in session.rooms}):
                period = periods.get(city)
                if period is None:
                    if city not in missing and city not in self.custody_cities:
                        missing.add(city)
                        self.problem("sessions", index, "rooms", f"no [[custody]] period for city {city}")
                    continue
                if session.checkin_start < period.arrival_due:
                    self.problem(
                        "sessions",
                        index,
                        "start",
                        f"check-in opens before {city}'s papers are due at the sites ({_show(period.arrival_due)})",
                    )
                if session.end > period.returned:
                    self.problem(
                        "sessions",
                        index,
                        "end",
                        f"ends after {city}'s papers are to be returned ({_show(period.returned)})",
                    )


def _show(at: datetime) -> str:
    return at.astimezone(EXAM_TZ).strftime("%Y-%m-%d %H:%M")


def _hours(span: timedelta) -> str:
    return f"{span.total_seconds() / 3600:g} h"
