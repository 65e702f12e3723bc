"""The roster CSV (pure): ``exam,site,room,id_number`` → checked rows → keyed HMACs and masked numbers.

One file is one exam's roster.  Every ID number is checked with its check character, by the same code the
agent's reader uses (:mod:`agent.drivers.idcard.idnumber`), and hashed by the same function
(:meth:`agent.drivers.idcard.privacy.CandidateKey.digest`), so an HMAC the hub stores is the one the
agent computes from the card.  Problems name the line, never the number on it.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass
from typing import Final

from agent.drivers.idcard import idnumber
from agent.drivers.idcard.privacy import CandidateKey, mask
from hub.roster.errors import RosterError, RosterProblem
from protocol.messages import ROSTER_MAX_CANDIDATES, ROSTER_MAX_ROOMS
from protocol.topics import SITE_ID_PATTERN

HEADER: Final = ("exam", "site", "room", "id_number")
EXAM_PATTERN: Final = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SITE: Final = re.compile(f"^{SITE_ID_PATTERN}$")
ROOM_MAX_CHARS: Final = 64
MAX_ROWS: Final = 200_000


@dataclass(frozen=True, slots=True)
class Seat:
    """One candidate's place; ``number`` is raw and lives only as long as the import does."""

    line: int
    site: str  # <city>/<site>
    room: str
    number: str

    def __repr__(self) -> str:  # a traceback or a debug print must not show the number
        return f"Seat(line={self.line}, site={self.site!r}, room={self.room!r}, number=<withheld>)"


@dataclass(frozen=True, slots=True)
class RosterFile:
    exam: str
    seats: tuple[Seat, ...]


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """What is stored: the candidate's keyed HMAC and masked number, in their room."""

    city: str
    site: str
    room: str
    candidate: str
    masked: str


def parse_roster(text: str, file: str) -> RosterFile:
    """Every row checked; :class:`RosterError` lists every problem with its line."""
    problems: list[RosterProblem] = []
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff")))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise RosterError(file, [RosterProblem(1, f"not CSV: {exc}")]) from exc
    if header is None or tuple(h.strip().lower() for h in header) != HEADER:
        raise RosterError(file, [RosterProblem(1, f"the header must be {','.join(HEADER)}")])
    exams: dict[str, int] = {}
    seats: list[Seat] = []
    first_line: dict[str, int] = {}
    try:
        for row in reader:
            line = reader.line_num
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(seats) + len(problems) >= MAX_ROWS:
                problems.append(RosterProblem(line, f"more than {MAX_ROWS} rows"))
                break
            seat = _row(row, line, exams, first_line, problems)
            if seat is not None:
                seats.append(seat)
    except csv.Error as exc:
        problems.append(RosterProblem(reader.line_num, f"not CSV: {exc}"))
    if not exams and not problems:
        problems.append(RosterProblem(None, "no candidates"))
    problems += _bounds(seats)
    if problems:
        raise RosterError(file, problems)
    return RosterFile(next(iter(exams)), tuple(seats))


def _row(
    row: list[str], line: int, exams: dict[str, int], first_line: dict[str, int], problems: list[RosterProblem]
) -> Seat | None:
    if len(row) != len(HEADER):
        problems.append(RosterProblem(line, f"{len(row)} field(s), expected {len(HEADER)}"))
        return None
    exam, site, room, number = (cell.strip() for cell in row)
    number = number.upper()
    bad = len(problems)
    if not EXAM_PATTERN.fullmatch(exam):
        problems.append(RosterProblem(line, "exam: 1-64 characters of A-Z a-z 0-9 _ . -"))
    elif exams and exam not in exams:
        other = next(iter(exams))
        problems.append(RosterProblem(line, f"exam {exam!r}, but line {exams[other]} names {other!r}: one exam a file"))
    else:
        exams.setdefault(exam, line)
    if not _SITE.fullmatch(site):
        problems.append(RosterProblem(line, "site: must be <city>/<site> (lower-case slugs)"))
    if not room or len(room) > ROOM_MAX_CHARS:
        problems.append(RosterProblem(line, f"room: 1-{ROOM_MAX_CHARS} characters"))
    if not idnumber.is_valid(number):
        # The reason, never the value: this message is printed and may be kept.
        problems.append(
            RosterProblem(line, "id_number: not a valid ID number (length, digits, date or check character)")
        )
    elif number in first_line:
        problems.append(RosterProblem(line, f"id_number: the same candidate as line {first_line[number]}"))
    else:
        first_line[number] = line
    if len(problems) > bad:
        return None
    return Seat(line, site, room, number)


def _bounds(seats: list[Seat]) -> list[RosterProblem]:
    problems: list[RosterProblem] = []
    per_room = Counter((s.site, s.room) for s in seats)
    for (site, room), count in per_room.items():
        if count > ROSTER_MAX_CANDIDATES:
            problems.append(
                RosterProblem(None, f"{site} room {room!r}: {count} candidates, at most {ROSTER_MAX_CANDIDATES}")
            )
    rooms = Counter(site for site, _ in per_room)
    for site, count in rooms.items():
        if count > ROSTER_MAX_ROOMS:
            problems.append(RosterProblem(None, f"{site}: {count} rooms, at most {ROSTER_MAX_ROOMS}"))
    return problems


def hash_roster(roster: RosterFile, key: CandidateKey) -> list[RosterEntry]:
    """The rows as stored: HMAC with the exam's key and the masked number, the raw number dropped."""
    entries: list[RosterEntry] = []
    for seat in roster.seats:
        city, site = seat.site.split("/")
        entries.append(RosterEntry(city, site, seat.room, key.digest(seat.number), mask(seat.number)))
    return entries
