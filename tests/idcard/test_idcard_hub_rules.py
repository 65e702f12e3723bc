"""The hub's ID-card rules on plain data: reader missing / faulty, and one candidate at two places."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hub.calendar import RequiredState, RoomRef, Session
from hub.rules.idcard import (
    DUPLICATE,
    FAULT,
    MISSING,
    CheckIn,
    checkin_from_event,
    duplicate_checkin,
    reader_findings,
)
from hub.rules.jammer import DeviceSeen
from protocol.messages import DeviceStatus

NOW = datetime(2026, 5, 17, 1, 30, tzinfo=UTC)  # 09:30 in Beijing
SESSION = Session(
    exam="skills-2026-05",
    id="s1-theory",
    paper="theory",
    start=datetime(2026, 5, 17, 1, 0, tzinfo=UTC),
    end=datetime(2026, 5, 17, 3, 0, tzinfo=UTC),
    checkin=timedelta(minutes=30),
    rooms=(RoomRef("jinan/s01", "*"), RoomRef("jinan/s02", "*")),
)
HMAC = "ab" * 32


def required(readers: bool) -> RequiredState:
    return RequiredState(
        at=NOW,
        jammer="on" if readers else "off",
        readers=readers,
        vault=False,
        phase="sitting" if readers else "idle",
        session=SESSION if readers else None,
        next_change=None,
    )


def reader(status: DeviceStatus, seen_ago_s: float = 2, room: str = "101", **details: Any) -> DeviceSeen:
    return DeviceSeen("idcard", "reader-101", room, status, details, NOW - timedelta(seconds=seen_ago_s))


def test_a_working_reader_raises_nothing() -> None:
    for readers in (True, False):
        assert reader_findings("jinan/s01", "101", required(readers), [reader("ok", state="ready")], NOW) == ()


def test_an_absent_reader_is_missing_critical_in_the_window_and_a_warning_outside() -> None:
    absent = reader("offline", state="absent", error="device removed", sam_id="05.01-x")
    [inside] = reader_findings("jinan/s01", "101", required(True), [absent], NOW)
    assert inside.kind == MISSING
    assert inside.severity == "critical"
    assert inside.fingerprint == "idcard.reader_missing:jinan/s01:101:reader-101"
    assert inside.summary == (
        "ID-card reader reader-101 in room 101 at jinan/s01 is missing: device removed"
        " during check-in / session s1-theory"
    )
    assert inside.details == {"reason": "device removed", "sam_id": "05.01-x"}
    [outside] = reader_findings("jinan/s01", "101", required(False), [absent], NOW)
    assert outside.severity == "warning"
    assert outside.fingerprint == inside.fingerprint  # escalates in place when the window opens


def test_a_stale_reader_counts_as_missing() -> None:
    [finding] = reader_findings("jinan/s01", "101", required(True), [reader("ok", seen_ago_s=120)], NOW)
    assert finding.kind == MISSING
    assert "no state since" in finding.summary


def test_a_faulty_reader_is_a_fault() -> None:
    faulty = reader("fault", state="fault", error="SAM: SAM self-test failed (SW3 60)")
    [finding] = reader_findings("jinan/s01", "101", required(True), [faulty], NOW)
    assert (finding.kind, finding.severity) == (FAULT, "critical")
    assert "SW3 60" in finding.summary


def test_a_room_without_any_reader_matters_only_while_readers_are_required() -> None:
    elsewhere = reader("ok", room="102", state="ready")
    [finding] = reader_findings("jinan/s01", "101", required(True), [elsewhere], NOW)
    assert (finding.kind, finding.device_id) == (MISSING, None)
    assert finding.fingerprint == "idcard.reader_missing:jinan/s01:101"
    assert reader_findings("jinan/s01", "101", required(False), [elsewhere], NOW) == ()


def checkin(site: str, room: str, minutes: float, candidate: str = HMAC) -> CheckIn:
    at = SESSION.checkin_start + timedelta(minutes=minutes)
    return CheckIn(site, room, "reader-" + room, candidate, "37************123X", at)


def test_the_same_candidate_at_two_places_in_one_session_is_critical() -> None:
    first = checkin("jinan/s01", "101", 5)
    second = checkin("jinan/s02", "203", 20)
    finding = duplicate_checkin(second, [first], SESSION)
    assert finding is not None
    assert (finding.kind, finding.severity) == (DUPLICATE, "critical")
    assert finding.fingerprint == f"{DUPLICATE}:s1-theory:{HMAC}"
    assert finding.summary == (
        "Candidate 37************123X checked in at 2 places during session s1-theory: "
        "jinan/s01 room 101; jinan/s02 room 203"
    )
    assert finding.details["first_at"] == first.at.isoformat()
    assert finding.details["candidate"] == HMAC
    # Another room at the same site is another place too.
    assert duplicate_checkin(checkin("jinan/s01", "102", 21), [first], SESSION) is not None


def test_the_same_place_again_another_candidate_or_another_session_is_no_duplicate() -> None:
    first = checkin("jinan/s01", "101", 5)
    assert duplicate_checkin(checkin("jinan/s01", "101", 9), [first], SESSION) is None
    assert duplicate_checkin(checkin("jinan/s02", "203", 9, candidate="cd" * 32), [first], SESSION) is None
    yesterday = CheckIn("jinan/s02", "203", None, HMAC, None, SESSION.checkin_start - timedelta(days=1))
    assert duplicate_checkin(checkin("jinan/s01", "101", 9), [yesterday], SESSION) is None
    assert duplicate_checkin(checkin("jinan/s02", "203", 9), [first], None) is None


def test_check_ins_come_only_from_successful_reads_with_a_candidate() -> None:
    details = {"result": "ok", "room": "101", "candidate": HMAC, "masked": "37************123X"}
    made = checkin_from_event("jinan/s01", "reader-101", "idcard.checkin", details, NOW)
    assert made == CheckIn("jinan/s01", "101", "reader-101", HMAC, "37************123X", NOW)
    assert checkin_from_event("jinan/s01", "r", "idcard.checkin", {**details, "result": "failed"}, NOW) is None
    assert checkin_from_event("jinan/s01", "r", "idcard.checkin", {**details, "candidate": None}, NOW) is None
    assert checkin_from_event("jinan/s01", "r", "idcard.reader_lost", details, NOW) is None
