"""Calendar import: the example file, then each kind of mistake reported at its own line."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from hub.calendar import EXAM_TZ, CalendarError, RoomRef, load_calendar, parse_calendar

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "calendar.example.toml"
INVENTORY = {"jinan/s01": ["101", "102"], "qingdao/s02": ["201", "202"]}

HEAD = """version = 1

[[exams]]
id = "x"
name = "Test exam"

[[custody]]
city = "jinan"
collection = 2026-05-16T08:00:00
arrival_due = 2026-05-16T18:00:00
return = 2026-05-19T12:00:00
"""


def session(ident: str, start: str, end: str, rooms: str = '["jinan/s01/101"]', extra: str = "") -> str:
    return f"""
[[sessions]]
exam = "x"
id = "{ident}"
paper = "Paper {ident}"
start = {start}
end = {end}
rooms = {rooms}
{extra}"""


def problems(text: str, inventory: dict[str, list[str]] | None = None) -> list[tuple[int | None, str, str]]:
    with pytest.raises(CalendarError) as caught:
        parse_calendar(text, "cal.toml", inventory)
    return [(p.line, p.key, p.reason) for p in caught.value.problems]


def line_of(text: str, needle: str, nth: int = 0) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line and not line.startswith("#")]
    return hits[nth]


def test_the_example_file_loads_with_every_session_in_beijing_time() -> None:
    calendar = load_calendar(EXAMPLE, {"jinan/s01": ["101", "102"], "qingdao/s02": ["201"]})
    assert [s.id for s in calendar.sessions] == ["theory-am", "practice-pm", "night-shift"]
    first = calendar.sessions[0]
    assert first.start == datetime(2026, 5, 17, 9, 0, tzinfo=EXAM_TZ)
    assert first.start.utcoffset() == timedelta(hours=8)
    assert first.checkin_start == datetime(2026, 5, 17, 8, 30, tzinfo=EXAM_TZ)
    assert RoomRef("qingdao/s02", "*") in first.rooms
    assert first.rooms_at("qingdao/s02", frozenset({"201"})) == {"201"}
    assert calendar.sessions[1].checkin == timedelta(minutes=30)  # the default
    assert calendar.custody_for("qingdao") is not None
    assert calendar.jammer_lead == timedelta(minutes=15)
    assert calendar.sites() == {"jinan/s01", "qingdao/s02"}
    assert first.line == line_of(EXAMPLE.read_text(), "[[sessions]]")


def test_a_session_crossing_midnight_is_accepted_and_dated_by_its_start() -> None:
    text = HEAD + session("night", "2026-05-17T23:00:00", "2026-05-18T01:30:00")
    night = parse_calendar(text, inventory=INVENTORY).sessions[0]
    assert night.end - night.start == timedelta(hours=2, minutes=30)
    assert night.date.isoformat() == "2026-05-17"


def test_end_before_start_names_the_end_line() -> None:
    text = HEAD + session("bad", "2026-05-17T11:00:00", "2026-05-17T09:00:00")
    assert problems(text) == [
        (
            line_of(text, "end = 2026-05-17T09"),
            "sessions[0].end",
            "end 2026-05-17 09:00 is not after start 2026-05-17 11:00",
        )
    ]


def test_overlapping_sessions_in_one_room_name_the_later_one_and_the_first() -> None:
    text = (
        HEAD
        + session("am", "2026-05-17T09:00:00", "2026-05-17T11:00:00")
        + session("other-room", "2026-05-17T10:00:00", "2026-05-17T12:00:00", '["jinan/s01/102"]')
        + session("clash", "2026-05-17T10:30:00", "2026-05-17T12:00:00", '["jinan/s01/101"]')
    )
    first = line_of(text, "[[sessions]]", 0)
    assert problems(text) == [
        (
            line_of(text, "start = 2026-05-17T10:30"),
            "sessions[2].start",
            f"overlaps session 'am' (line {first}) in room jinan/s01/101: "
            "that one runs 2026-05-17 09:00 to 2026-05-17 11:00",
        )
    ]


def test_a_whole_site_overlaps_any_of_its_rooms_and_back_to_back_sessions_do_not() -> None:
    text = (
        HEAD
        + session("am", "2026-05-17T09:00:00", "2026-05-17T11:00:00")
        + session("next", "2026-05-17T11:00:00", "2026-05-17T12:00:00")
        + session("all", "2026-05-17T11:30:00", "2026-05-17T12:30:00", '["jinan/s01/*"]')
    )
    found = problems(text)
    assert len(found) == 1
    assert found[0][:2] == (line_of(text, "start = 2026-05-17T11:30"), "sessions[2].start")
    assert "overlaps session 'next'" in found[0][2]


def test_a_session_crossing_midnight_overlaps_one_after_midnight() -> None:
    text = (
        HEAD
        + session("night", "2026-05-17T23:00:00", "2026-05-18T01:00:00")
        + session("early", "2026-05-18T00:30:00", "2026-05-18T02:00:00")
    )
    assert [(line, key) for line, key, _ in problems(text)] == [
        (line_of(text, "start = 2026-05-18T00:30"), "sessions[1].start")
    ]


def test_unknown_site_and_unknown_room_name_the_rooms_line() -> None:
    text = (
        HEAD
        + session("a", "2026-05-17T09:00:00", "2026-05-17T11:00:00", '["jinan/s09/101"]')
        + session("b", "2026-05-17T09:00:00", "2026-05-17T11:00:00", '["jinan/s01/105"]')
    )
    assert problems(text, INVENTORY) == [
        (line_of(text, '"jinan/s09/101"'), "sessions[0].rooms", "unknown site jinan/s09 (not in the inventory)"),
        (line_of(text, '"jinan/s01/105"'), "sessions[1].rooms", "unknown room jinan/s01/105 (jinan/s01 has 101, 102)"),
    ]
    # Without an inventory the same file is accepted: nothing to check rooms against.
    assert len(parse_calendar(text).sessions) == 2


def test_every_problem_is_reported_in_one_run_in_line_order() -> None:
    text = (
        HEAD
        + session("a", "2026-05-17T09:00:00", "2026-05-17T08:00:00")
        + session("b", "2026-05-17T09:00:00", "2026-05-17T11:00:00", '["jinan/s01/999"]', extra='colour = "red"\n')
        + session("a", "2026-05-17T13:00:00", "2026-05-17T14:00:00")
    )
    with pytest.raises(CalendarError) as caught:
        parse_calendar(text, "cal.toml", INVENTORY)
    lines = [p.line for p in caught.value.problems]
    assert lines == sorted(lines)
    assert [p.key for p in caught.value.problems] == [
        "sessions[0].end",
        "sessions[1].rooms",
        "sessions[1].colour",
        "sessions[2].id",
    ]
    assert (
        str(caught.value).splitlines()[1] == f"cal.toml:{line_of(text, '999')}: sessions[1].rooms: unknown room "
        "jinan/s01/999 (jinan/s01 has 101, 102)"
    )


@pytest.mark.parametrize(
    ("change", "key", "reason"),
    [
        ("version = 1", "version", "must be 1 (this hub reads calendar format 1)"),
        ('paper = "Paper s"', "sessions[0].paper", "field required: the paper sat in this session"),
        ('exam = "x"', "sessions[0].exam", "field required"),
        ("start = 2026-05-17T09:00:00", "sessions[0].start", "field required"),
        ('rooms = ["jinan/s01/101"]', "sessions[0].rooms", "must list the rooms taking part, e.g. ['jinan/s01/101']"),
    ],
)
def test_a_missing_key_is_reported_at_its_table(change: str, key: str, reason: str) -> None:
    text = (HEAD + session("s", "2026-05-17T09:00:00", "2026-05-17T11:00:00")).replace(change, "")
    found = problems(text)
    assert found[0][1:] == (key, reason)
    expected = None if key == "version" else line_of(text, "[[sessions]]")
    assert found[0][0] == expected


@pytest.mark.parametrize(
    ("old", "new", "key", "reason"),
    [
        (
            "end = 2026-05-17T11:00:00",
            "end = 2026-05-18T11:00:00",
            "sessions[0].end",
            "the session would last 26 h; more than 12 h",
        ),
        (
            "end = 2026-05-17T11:00:00",
            "end = 11:00:00",
            "sessions[0].end",
            "must be a date and time such as 2026-05-17T09:00:00, not datetime.time(11, 0)",
        ),
        (
            "start = 2026-05-17T09:00:00",
            "start = 2026-05-17T09:00:00Z",
            "sessions[0].start",
            "must be Beijing time: write it without an offset (or with +08:00)",
        ),
        ('exam = "x"', 'exam = "y"', "sessions[0].exam", "unknown exam 'y' (define it in an [[exams]] table)"),
        (
            '["jinan/s01/101"]',
            '["jinan-s01-101"]',
            "sessions[0].rooms",
            "'jinan-s01-101' is not '<city>/<site>/<room>' or '<city>/<site>/*'",
        ),
        (
            "arrival_due = 2026-05-16T18:00:00",
            "arrival_due = 2026-05-17T08:45:00",
            "sessions[0].start",
            "check-in opens before jinan's papers are due at the sites (2026-05-17 08:45)",
        ),
        (
            "arrival_due = 2026-05-16T18:00:00",
            "arrival_due = 2026-05-16T07:00:00",
            "custody[0].arrival_due",
            "2026-05-16 07:00 is before collection 2026-05-16 08:00",
        ),
        ('city = "jinan"', 'city = "qingdao"', "sessions[0].rooms", "no [[custody]] period for city jinan"),
    ],
)
def test_a_bad_value_names_its_line(old: str, new: str, key: str, reason: str) -> None:
    text = (HEAD + session("s", "2026-05-17T09:00:00", "2026-05-17T11:00:00")).replace(old, new)
    found = problems(text)
    assert found == [(found[0][0], key, reason)]
    assert found[0][0] is not None
    written = text.splitlines()[found[0][0] - 1]
    assert written.split("=")[0].strip() == key.rsplit(".", 1)[1]


def test_a_toml_syntax_error_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "cal.toml"
    path.write_text(HEAD + "\n[[sessions]\n", encoding="utf-8")
    with pytest.raises(CalendarError) as caught:
        load_calendar(path)
    assert caught.value.problems[0].line == HEAD.count("\n") + 2
    assert str(caught.value).startswith(f"{path}:{HEAD.count(chr(10)) + 2}: TOML syntax error")


def test_an_unreadable_file_is_a_calendar_error(tmp_path: Path) -> None:
    with pytest.raises(CalendarError, match="cannot read"):
        load_calendar(tmp_path / "missing.toml")
