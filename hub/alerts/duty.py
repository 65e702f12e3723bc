"""The duty desk's check-in: on exam days each city desk confirms it is staffed every ``every_s``.

Rule O3 asks for a person on duty with communication open; a desk that stops checking in is as silent as
an agent that stops sending, so a missed check-in is an alert that goes to the province (critical).

On an exam day (Beijing time) between ``start`` and ``end``, a check-in is due ``every_s`` after the later
of the last check-in and the day's start; it is missed once ``grace_s`` more have passed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

EXAM_TZ: Final = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True, slots=True)
class DutyPolicy:
    every_s: float
    grace_s: float
    days: frozenset[date]
    start: time = time(0, 0)
    end: time | None = None  # None: until midnight


@dataclass(frozen=True, slots=True)
class DeskStatus:
    city: str
    on_duty: bool  # an exam day, inside the day's hours
    last: datetime | None
    due_at: datetime | None
    missed: bool


def _window(policy: DutyPolicy, now: datetime) -> tuple[datetime, datetime] | None:
    local = now.astimezone(EXAM_TZ)
    if local.date() not in policy.days:
        return None
    start = datetime.combine(local.date(), policy.start, EXAM_TZ)
    end = (
        datetime.combine(local.date(), policy.end, EXAM_TZ)
        if policy.end is not None
        else datetime.combine(local.date() + timedelta(days=1), time(0, 0), EXAM_TZ)
    )
    return (start, end) if start <= now < end else None


def status(policy: DutyPolicy, city: str, last: datetime | None, now: datetime) -> DeskStatus:
    window = _window(policy, now)
    if window is None:
        return DeskStatus(city, False, last, None, False)
    reference = window[0] if last is None or last < window[0] else last
    due = reference + timedelta(seconds=policy.every_s)
    return DeskStatus(city, True, last, due, now > due + timedelta(seconds=policy.grace_s))


def desks(policy: DutyPolicy, cities: Iterable[str], last: Mapping[str, datetime], now: datetime) -> list[DeskStatus]:
    return [status(policy, c, last.get(c), now) for c in sorted(set(cities))]
