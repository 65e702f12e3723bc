"""What a room must be doing at instants before, inside, between and after sessions (and past midnight)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.calendar import EXAM_TZ, Calendar, RequiredState, parse_calendar, required_state, vault_required

CALENDAR = """version = 1
jammer_on_before_minutes = 15
jammer_off_after_minutes = 10

[[exams]]
id = "x"

[[custody]]
city = "jinan"
collection = 2026-05-16T08:00:00
arrival_due = 2026-05-16T18:00:00
return = 2026-05-18T12:00:00

[[sessions]]
exam = "x"
id = "am"
paper = "Theory"
start = 2026-05-17T09:00:00
end = 2026-05-17T11:00:00
checkin_minutes = 30
rooms = ["jinan/s01/101", "jinan/s01/102"]

[[sessions]]
exam = "x"
id = "pm"
paper = "Practical"
start = 2026-05-17T14:00:00
end = 2026-05-17T16:00:00
rooms = ["jinan/s01/*"]

[[sessions]]
exam = "x"
id = "night"
paper = "Night theory"
start = 2026-05-17T23:30:00
end = 2026-05-18T01:00:00
checkin_minutes = 20
rooms = ["jinan/s01/101"]
"""


@pytest.fixture(scope="module")
def calendar() -> Calendar:
    return parse_calendar(CALENDAR)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=EXAM_TZ)


def state(calendar: Calendar, when: datetime, room: str = "101") -> RequiredState:
    return required_state(calendar, "jinan/s01", room, when)


@pytest.mark.parametrize(
    ("when", "jammer", "readers", "phase", "session"),
    [
        (at(17, 8, 0), "off", False, "idle", None),  # before everything
        (at(17, 8, 30), "off", True, "checkin", "am"),  # gates open: readers up, jammer still off
        (at(17, 8, 45), "any", True, "checkin", "am"),  # grace: the jammer may already be on
        (at(17, 9, 0), "on", True, "sitting", "am"),  # the first instant of the sitting
        (at(17, 10, 59), "on", True, "sitting", "am"),
        (at(17, 11, 0), "any", False, "idle", "am"),  # the end is not inside; grace after it
        (at(17, 11, 10), "off", False, "idle", None),  # between sessions
        (at(17, 12, 0), "off", False, "idle", None),
        (at(17, 13, 30), "off", True, "checkin", "pm"),  # "*" takes in room 101 too
        (at(17, 15, 0), "on", True, "sitting", "pm"),
        (at(17, 18, 0), "off", False, "idle", None),  # after the day's sessions
        (at(17, 23, 15), "any", True, "checkin", "night"),
        (at(18, 0, 30), "on", True, "sitting", "night"),  # past midnight, still the night session
        (at(18, 1, 5), "any", False, "idle", "night"),
        (at(18, 2, 0), "off", False, "idle", None),  # after the last session
    ],
)
def test_required_state_of_a_room_over_the_day(
    calendar: Calendar, when: datetime, jammer: str, readers: bool, phase: str, session: str | None
) -> None:
    got = state(calendar, when)
    assert (got.jammer, got.readers, got.phase) == (jammer, readers, phase)
    assert (got.session.id if got.session else None) == session


def test_a_room_not_in_a_session_is_idle_while_others_sit(calendar: Calendar) -> None:
    assert state(calendar, at(18, 0, 30), room="102").jammer == "off"
    assert state(calendar, at(17, 10), room="103").jammer == "off"  # 103 sits only "pm" through "*"
    assert state(calendar, at(17, 15), room="103").jammer == "on"
    assert required_state(calendar, "jinan/s02", "101", at(17, 10)).jammer == "off"  # another site


def test_next_change_walks_through_every_boundary(calendar: Calendar) -> None:
    seen = []
    when: datetime | None = at(17, 6)
    while when is not None and when < at(17, 12):
        got = state(calendar, when)
        seen.append((when.strftime("%H:%M"), got.jammer, got.readers))
        when = got.next_change
    assert seen == [
        ("06:00", "off", False),
        ("08:30", "off", True),
        ("08:45", "any", True),
        ("09:00", "on", True),
        ("11:00", "any", False),
        ("11:10", "off", False),
    ]


def test_instants_in_any_zone_mean_the_same_moment(calendar: Calendar) -> None:
    # 01:30 UTC is 09:30 in Beijing.
    assert state(calendar, datetime(2026, 5, 17, 1, 30, tzinfo=UTC)).jammer == "on"


def test_a_naive_instant_is_refused(calendar: Calendar) -> None:
    with pytest.raises(ValueError, match="no timezone"):
        state(calendar, datetime(2026, 5, 17, 9, 30))


def test_the_vault_is_watched_from_arrival_until_return(calendar: Calendar) -> None:
    site = "jinan/s01"
    assert not vault_required(calendar, site, at(16, 12))
    assert vault_required(calendar, site, at(16, 18))  # due, even with no arrival report yet
    early = at(16, 11)
    assert vault_required(calendar, site, at(16, 12), arrival_reported_at=early)
    assert not vault_required(calendar, site, at(16, 10), arrival_reported_at=early)
    # A late report does not shorten custody.
    assert vault_required(calendar, site, at(16, 19), arrival_reported_at=at(16, 20))
    assert vault_required(calendar, site, at(18, 11, 59))
    assert not vault_required(calendar, site, at(18, 12))
    assert not vault_required(calendar, "qingdao/s02", at(17, 10))  # no custody period for that city
    assert state(calendar, at(17, 12)).vault
    assert state(calendar, at(16, 17)).next_change == at(16, 18)


def test_a_site_slice_keeps_its_sessions_and_its_citys_custody(calendar: Calendar) -> None:
    other = parse_calendar(CALENDAR.replace("jinan/s01/101", "jinan/s02/101"))
    part = other.for_site("jinan/s02")
    assert [s.id for s in part.sessions] == ["am", "night"]
    assert [c.city for c in part.custody] == ["jinan"]
    assert part.jammer_lead == timedelta(minutes=15)
