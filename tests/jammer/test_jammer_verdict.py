"""The room verdict as a table: required × declared × measured → findings; then hysteresis over time."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from hub.calendar import EXAM_TZ, RequiredState, Session, parse_calendar, required_state
from hub.rules.jammer import (
    Cleared,
    DeviceSeen,
    Finding,
    HysteresisPolicy,
    JammerPolicy,
    Raised,
    Tracked,
    declared,
    measured,
    resumed,
    room_findings,
    site_findings,
    track,
)
from protocol.messages import DeviceStatus, Scalar

SITE = "jinan/s01"
ON = {"gsm900": "on", "lte1800": "on"}
OFF = {"gsm900": "off", "lte1800": "off"}
NOW = datetime(2026, 5, 17, 9, 30, tzinfo=EXAM_TZ)
CALENDAR_TEXT = """version = 1
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
rooms = ["jinan/s01/101"]
"""
CALENDAR = parse_calendar(CALENDAR_TEXT)
IN_SESSION = required_state(CALENDAR, SITE, "101", NOW)
OUTSIDE = required_state(CALENDAR, SITE, "101", NOW + timedelta(hours=3))
GRACE = required_state(CALENDAR, SITE, "101", NOW + timedelta(minutes=95))


def jammer(
    bands: dict[str, str] | None = None,
    *,
    fault: str | None = None,
    status: DeviceStatus = "ok",
    age_s: float = 1.0,
    ident: str = "jam-1",
    room: str = "101",
) -> DeviceSeen:
    details: dict[str, Scalar] = {f"band_{b}": v for b, v in (ON if bands is None else bands).items()}
    if fault:
        details |= {"fault": True, "faults": fault}
    return DeviceSeen("jammer", ident, room, status, details, NOW - timedelta(seconds=age_s))


def probe(verdict: str, *, age_s: float = 1.0, ident: str = "probe-1", room: str = "101") -> DeviceSeen:
    return DeviceSeen(
        "probe", ident, room, "ok", {"verdict": verdict, "reason": "test"}, NOW - timedelta(seconds=age_s)
    )


def kinds(required: RequiredState, *devices: DeviceSeen) -> list[tuple[str, str, str | None]]:
    return [(f.kind, f.severity, f.device_id) for f in room_findings(SITE, "101", required, devices, NOW)]


@pytest.mark.parametrize(
    ("required", "devices", "expected"),
    [
        # In session: all on and the probe sees no network → nothing to say.
        (IN_SESSION, [jammer(ON), probe("suppressed")], []),
        # One band off → critical naming the band (the fingerprint carries it).
        (
            IN_SESSION,
            [jammer({"gsm900": "on", "lte1800": "off"}), probe("suppressed")],
            [("jammer.band_off", "critical", "jam-1")],
        ),
        (IN_SESSION, [jammer(OFF), probe("not_suppressed")], [("jammer.band_off", "critical", "jam-1")] * 2),
        (
            IN_SESSION,
            [jammer(ON, fault="overtemp"), probe("suppressed")],
            [("jammer.fault", "critical", "jam-1")],
        ),
        # Declared on, measured not suppressed: its own critical alert.
        (IN_SESSION, [jammer(ON), probe("not_suppressed")], [("jammer.not_suppressing", "critical", None)]),
        # Declared on, nothing measured: a warning, not silence.
        (IN_SESSION, [jammer(ON), probe("unknown")], [("jammer.unverified", "warning", None)]),
        (IN_SESSION, [jammer(ON)], [("jammer.unverified", "warning", None)]),
        (IN_SESSION, [jammer(ON), probe("suppressed", age_s=300)], [("jammer.unverified", "warning", None)]),
        # A stale or faulted jammer state says nothing about the bands.
        (IN_SESSION, [jammer(ON, age_s=300), probe("suppressed")], [("jammer.silent", "critical", "jam-1")]),
        (IN_SESSION, [jammer({}, status="fault"), probe("suppressed")], [("jammer.silent", "critical", "jam-1")]),
        (IN_SESSION, [probe("suppressed")], [("jammer.missing", "critical", None)]),
        # A jammer in another room does not count for this one.
        (IN_SESSION, [jammer(ON, room="102"), probe("suppressed")], [("jammer.missing", "critical", None)]),
        # Outside: on → warning; off → fine; a probe's view does not matter.
        (OUTSIDE, [jammer(ON), probe("suppressed")], [("jammer.on_outside_session", "warning", "jam-1")]),
        (OUTSIDE, [jammer(OFF), probe("not_suppressed")], []),
        (OUTSIDE, [jammer(ON, age_s=300)], []),
        # Grace minutes: either way is fine.
        (GRACE, [jammer(ON)], []),
        (GRACE, [jammer(OFF)], []),
    ],
)
def test_room_verdict_table(
    required: RequiredState, devices: list[DeviceSeen], expected: list[tuple[str, str, str | None]]
) -> None:
    assert kinds(required, *devices) == expected


def test_findings_name_room_band_and_session() -> None:
    (found,) = room_findings(SITE, "101", IN_SESSION, [jammer({"gsm900": "off"}), probe("suppressed")], NOW)
    assert found.fingerprint == "jammer.band_off:jinan/s01:101:jam-1:gsm900"
    assert found.summary == "Jammer jam-1 in room 101 at jinan/s01: band gsm900 is off during session am"
    assert found.details == {"session": "am", "measured": "suppressed", "band": "gsm900", "band_state": "off"}
    (signal,) = room_findings(SITE, "101", IN_SESSION, [jammer(ON), probe("not_suppressed")], NOW)
    assert signal.summary == "Jammer reports on but phones have signal in room 101 at jinan/s01 (session am)"


def test_any_probe_with_signal_outweighs_one_without() -> None:
    probes = [probe("suppressed", ident="p1"), probe("not_suppressed", ident="p2")]
    assert measured(probes, NOW) == "not_suppressed"
    assert measured([probe("suppressed"), probe("unknown", ident="p2")], NOW) == "suppressed"
    assert measured([], NOW) == "unknown"


def test_declared_reads_the_wire_details() -> None:
    state = declared(jammer({"gsm900": "on", "nr3500": "weird"}, fault="vswr,overtemp"), NOW)
    assert state.bands == {"gsm900": "on", "nr3500": "unknown"}
    assert state.faults == ("vswr", "overtemp")
    assert not state.all_on
    silent = declared(jammer(ON, age_s=31), NOW, JammerPolicy(stale_after=timedelta(seconds=30)))
    assert not silent.reachable
    assert silent.error is not None
    assert silent.error.startswith("no state since")


# --- hysteresis ------------------------------------------------------------------------------------

POLICY = HysteresisPolicy(
    raise_after={"critical": timedelta(seconds=10), "warning": timedelta(seconds=60)},
    clear_after=timedelta(seconds=30),
)


def run(timeline: list[tuple[float, list[Finding]]]) -> list[tuple[float, str, str]]:
    state: dict[str, Tracked] = {}
    out = []
    for t, findings in timeline:
        state, changes = track(state, findings, NOW + timedelta(seconds=t), POLICY)
        for change in changes:
            verb = "raise" if isinstance(change, Raised) else "clear"
            assert isinstance(change, Raised | Cleared)
            out.append((t, verb, change.finding.kind))
    return out


OFF_BAND = room_findings(SITE, "101", IN_SESSION, [jammer({"gsm900": "off"}), probe("suppressed")], NOW)
ON_OUTSIDE = room_findings(SITE, "101", OUTSIDE, [jammer(ON)], NOW)


def test_a_critical_finding_raises_after_its_delay_and_clears_after_absence() -> None:
    timeline = [(float(t), list(OFF_BAND)) for t in range(0, 15, 5)] + [(float(t), []) for t in range(15, 60, 5)]
    # Last seen at 10 s; absent for the 30 s of clear_after → cleared at 40 s.
    assert run(timeline) == [(10.0, "raise", "jammer.band_off"), (40.0, "clear", "jammer.band_off")]


def test_a_flicker_shorter_than_the_delay_raises_nothing() -> None:
    timeline = [(0.0, list(OFF_BAND)), (5.0, list(OFF_BAND)), (8.0, []), (12.0, list(OFF_BAND)), (16.0, [])]
    assert run(timeline) == []


def test_a_raised_alert_survives_a_short_gap_without_a_second_raise() -> None:
    timeline = [(0.0, list(OFF_BAND)), (10.0, list(OFF_BAND)), (20.0, []), (30.0, list(OFF_BAND)), (70.0, [])]
    assert run(timeline) == [(10.0, "raise", "jammer.band_off"), (70.0, "clear", "jammer.band_off")]


def test_a_warning_waits_longer_than_a_critical() -> None:
    timeline = [(float(t), list(ON_OUTSIDE)) for t in range(0, 70, 10)]
    assert run(timeline) == [(60.0, "raise", "jammer.on_outside_session")]


def test_session_timeline_off_then_on_then_left_on_after() -> None:
    """The issue's end-to-end story, as pure data: off at the start → critical; on with no network → clears;
    left on after the session → warning."""
    session: Session = CALENDAR.sessions[0]
    start = session.start
    state: dict[str, Tracked] = {}
    events = []
    steps = (
        [(s, [jammer(OFF)], "suppressed") for s in range(0, 20, 5)]
        + [(s, [jammer(ON)], "suppressed") for s in range(20, 80, 5)]
        + [(s, [jammer(ON)], "suppressed") for s in range(7200, 7200 + 900 + 65, 5)]
    )
    for offset, jammers, verdict in steps:
        now = start + timedelta(seconds=offset)
        devices = [
            DeviceSeen("jammer", j.id, j.room, j.status, j.details, now - timedelta(seconds=1)) for j in jammers
        ] + [DeviceSeen("probe", "probe-1", "101", "ok", {"verdict": verdict}, now - timedelta(seconds=1))]
        required = required_state(CALENDAR, SITE, "101", now)
        found = room_findings(SITE, "101", required, devices, now)
        state, changes = track(state, found, now, POLICY)
        events += [(offset, type(c).__name__, c.finding.kind, c.finding.severity) for c in changes]
    assert events == [
        (10, "Raised", "jammer.band_off", "critical"),
        (10, "Raised", "jammer.band_off", "critical"),
        (45, "Cleared", "jammer.band_off", "critical"),
        (45, "Cleared", "jammer.band_off", "critical"),
        # The session ends at 7200 s; the 10 grace minutes end at 7800 s; the warning waits 60 s more.
        (7860, "Raised", "jammer.on_outside_session", "warning"),
    ]


def test_site_findings_cover_rooms_without_devices_and_skip_idle_ones() -> None:
    calendar = parse_calendar(CALENDAR_TEXT.replace('rooms = ["jinan/s01/101"]', 'rooms = ["jinan/s01/*"]'))
    devices = [jammer(ON), probe("suppressed"), jammer(OFF, ident="jam-2", room="103")]
    found = site_findings(calendar, SITE, devices, NOW, rooms=["101", "102", "103"])
    assert sorted((f.room, f.kind) for f in found) == [
        ("102", "jammer.missing"),
        ("103", "jammer.band_off"),
        ("103", "jammer.band_off"),
    ]
    assert site_findings(calendar, "jinan/s02", [jammer(OFF)], NOW) == ()  # no session there: off is right


def test_alerts_open_before_a_restart_clear_when_their_condition_is_gone() -> None:
    (finding,) = room_findings(SITE, "101", IN_SESSION, [jammer({"gsm900": "off"}), probe("suppressed")], NOW)
    state = resumed([(finding, NOW - timedelta(minutes=5))], NOW)
    state, changes = track(state, [], NOW + timedelta(seconds=10), POLICY)
    assert changes == []
    _, changes = track(state, [], NOW + timedelta(seconds=30), POLICY)
    assert [type(c).__name__ for c in changes] == ["Cleared"]
