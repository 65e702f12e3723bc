"""Duty check-in as a table: exam days, the day's hours, due and missed."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest

from hub.alerts.duty import EXAM_TZ, DutyPolicy, desks, status

DAY = date(2014, 5, 17)
POLICY = DutyPolicy(every_s=1800, grace_s=300, days=frozenset({DAY}), start=time(7, 0), end=time(19, 0))


def local(h: int, m: int = 0, day: date = DAY) -> datetime:
    return datetime.combine(day, time(h, m), EXAM_TZ)


CASES = {
    "not an exam day: nothing due": (None, local(10, day=date(2014, 5, 16)), False, None),
    "before the day's hours": (None, local(6, 59), False, None),
    "after the day's hours": (None, local(19, 0), False, None),
    "never checked in, inside every + grace: due, not missed": (None, local(7, 35), True, False),
    "never checked in, past every + grace: missed": (None, local(7, 36), True, True),
    "checked in 20 min ago: fine": (local(9, 0), local(9, 20), True, False),
    "checked in 36 min ago: missed": (local(9, 0), local(9, 36), True, True),
    "a check-in from yesterday counts from today's start": (
        local(18, day=date(2014, 5, 16)),
        local(7, 20),
        True,
        False,
    ),
}


@pytest.mark.parametrize(("last", "now", "on_duty", "missed"), CASES.values(), ids=CASES.keys())
def test_status(last: datetime | None, now: datetime, on_duty: bool, missed: bool | None):
    s = status(POLICY, "jinan", last, now)
    assert s.on_duty == on_duty
    if missed is not None:
        assert s.missed == missed
    else:
        assert not s.missed
        assert s.due_at is None


def test_due_at_and_every_city():
    s = status(POLICY, "jinan", local(9, 0), local(9, 10))
    assert s.due_at == local(9, 30)
    all_desks = desks(POLICY, ["qingdao", "jinan", "jinan"], {"jinan": local(9, 0)}, local(9, 40))
    assert [(d.city, d.missed) for d in all_desks] == [("jinan", True), ("qingdao", True)]
    assert all_desks[1].last is None
    assert all_desks[1].due_at == local(7, 0) + timedelta(seconds=1800)
