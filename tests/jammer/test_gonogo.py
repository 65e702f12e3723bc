"""Go / no-go as a table over site snapshots, and which checks fall due when."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from hub.calendar import EXAM_TZ, parse_calendar
from hub.rules.gonogo import AgentSeen, GoNoGoPolicy, SiteSnapshot, due, evaluate
from hub.rules.jammer import DeviceSeen
from protocol.messages import DeviceKind, DeviceStatus, Scalar

NOW = datetime(2026, 5, 17, 8, 30, tzinfo=EXAM_TZ)
AGENT = AgentSeen("jinan/s01/a1", online=True, clock_offset_s=0.2, outbox_depth=0, last_seen=NOW)


def dev(
    kind: DeviceKind, ident: str, room: str, details: dict[str, Scalar], status: DeviceStatus = "ok", age_s: float = 2
) -> DeviceSeen:
    return DeviceSeen(kind, ident, room, status, details, NOW - timedelta(seconds=age_s))


def room_devices(room: str) -> list[DeviceSeen]:
    return [
        dev("jammer", f"jam-{room}", room, {"band_gsm900": "off", "band_lte1800": "off"}),
        dev("probe", f"probe-{room}", room, {"verdict": "not_suppressed", "reason": "registered"}),
        dev("idcard", f"reader-{room}", room, {"sam": "ok"}),
    ]


GOOD = SiteSnapshot(
    site="jinan/s01",
    rooms=frozenset({"101", "102"}),
    agents=(AGENT,),
    devices=(
        dev("camera", "vault-cam-1", "vault", {"baseline": "ok", "tamper": "none"}),
        *room_devices("101"),
        *room_devices("102"),
    ),
    session="am",
)


def without(ident: str) -> SiteSnapshot:
    return replace(GOOD, devices=tuple(d for d in GOOD.devices if d.id != ident))


def changed(ident: str, **fields: object) -> SiteSnapshot:
    return replace(GOOD, devices=tuple(replace(d, **fields) if d.id == ident else d for d in GOOD.devices))


def test_a_site_with_everything_in_place_is_green() -> None:
    result = evaluate(GOOD, NOW)
    assert result.green
    assert result.reasons == ()
    assert [c.name for c in result.checks] == [
        "link",
        "clock",
        "outbox",
        "calendar",
        "vault_cameras",
        "jammers",
        "probes",
        "readers",
    ]


@pytest.mark.parametrize(
    ("snapshot", "reasons"),
    [
        (without("reader-102"), ["room 102: no ID-card reader"]),
        (
            changed("reader-101", status="fault", details={"error": "SAM self-test failed"}),
            ["room 101: reader reader-101 fault: SAM self-test failed"],
        ),
        (changed("reader-101", seen_at=NOW - timedelta(minutes=5)), ["room 101: reader reader-101 not reporting"]),
        (without("jam-101"), ["room 101: no jammer"]),
        (
            changed("jam-102", details={"band_gsm900": "off", "fault": True, "faults": "vswr"}),
            ["room 102: jammer jam-102 fault (vswr)"],
        ),
        (
            changed("jam-102", details={"band_gsm900": "unknown"}),
            ["room 102: jammer jam-102 band(s) gsm900 unreadable"],
        ),
        (without("probe-101"), ["room 101: no cellular probe to verify the jammer"]),
        (
            changed("probe-101", details={"verdict": "unknown", "reason": "modem not answering"}),
            ["room 101: probe probe-101 gives no verdict (modem not answering)"],
        ),
        (without("vault-cam-1"), ["0 vault camera(s), 1 needed"]),
        (changed("vault-cam-1", details={"tamper": "none"}), ["vault camera vault-cam-1: no tamper baseline"]),
        (
            changed("vault-cam-1", status="warning", details={"baseline": "ok", "tamper": "defocused"}),
            ["vault camera vault-cam-1: warning (tamper: defocused)"],
        ),
        (
            replace(GOOD, agents=(replace(AGENT, clock_offset_s=-1.4),)),
            ["agent jinan/s01/a1: clock is -1.4 s off the hub's"],
        ),
        (
            replace(GOOD, agents=(replace(AGENT, outbox_depth=12),)),
            ["agent jinan/s01/a1: 12 messages not yet delivered to the hub"],
        ),
        (replace(GOOD, agents=(replace(AGENT, online=False, last_seen=None),)), ["agent jinan/s01/a1 is offline"]),
        (replace(GOOD, agents=()), ["no agent has reported for site jinan/s01"]),
    ],
)
def test_each_missing_piece_turns_the_site_red_with_its_reason(snapshot: SiteSnapshot, reasons: list[str]) -> None:
    result = evaluate(snapshot, NOW)
    assert not result.green
    assert list(result.reasons) == reasons


def test_a_missing_reader_turns_red_and_green_once_plugged_in() -> None:
    assert not evaluate(without("reader-102"), NOW).green
    assert evaluate(GOOD, NOW + timedelta(seconds=5)).green


def test_clock_within_one_second_is_fine_and_policy_can_relax_the_probe() -> None:
    assert evaluate(replace(GOOD, agents=(replace(AGENT, clock_offset_s=0.99),)), NOW).green
    assert evaluate(without("probe-101"), NOW, GoNoGoPolicy(require_probe=False)).green


def test_due_lists_each_site_once_when_its_check_time_passes() -> None:
    calendar = parse_calendar(
        """version = 1
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
rooms = ["jinan/s01/101", "jinan/s02/*"]
"""
    )
    check_at = datetime(2026, 5, 17, 8, 30, tzinfo=EXAM_TZ)
    assert [(site, s.id) for site, s in due(calendar, check_at - timedelta(seconds=5), check_at)] == [
        ("jinan/s01", "am"),
        ("jinan/s02", "am"),
    ]
    assert due(calendar, check_at, check_at + timedelta(seconds=5)) == []


def test_an_agent_without_the_current_calendar_makes_the_site_red() -> None:
    current = "0123456789abcdef"
    holding = replace(GOOD, calendar_version=current, agents=(replace(AGENT, calendar_version=current),))
    assert evaluate(holding, NOW).green
    for held in ("fedcba9876543210", "none"):
        stale = replace(holding, agents=(replace(AGENT, calendar_version=held),))
        result = evaluate(stale, NOW)
        assert not result.green
        assert [c.name for c in result.checks if not c.ok] == ["calendar"]
        assert result.reasons == (f"agent jinan/s01/a1 does not hold the current calendar ({held}; current {current})",)
    # An agent whose software predates calendars reports nothing: it is not judged on this.
    assert evaluate(replace(holding, agents=(AGENT,)), NOW).green
    # No plan known to the check: nothing to hold.
    assert evaluate(replace(GOOD, agents=(replace(AGENT, calendar_version="none"),)), NOW).green
