"""The calendar an agent is pushed: its wire model, the agent's copy of the required-state logic, keeping it
on disk, the requirement written into jammer and probe states, and the hub's pusher deciding whom to send it."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest

from agent.calendar import IN_SESSION, REQUIRED_JAMMER, CalendarKeeper, CalendarRejected, annotate, check
from hub.calendar import EXAM_TZ, Calendar, parse_calendar, required_state
from hub.calendar.load import plan_version
from hub.calendar.push import CalendarPusher, KnownAgent
from protocol.codec import decode_up, encode
from protocol.messages import AgentCalendar, DeviceState, Heartbeat, PlannedSession
from protocol.plan import calendar_from_wire, calendar_to_wire
from protocol.validation import checked, convert

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

[[custody]]
city = "qingdao"
collection = 2026-05-16T08:00:00
arrival_due = 2026-05-16T18:00:00
return = 2026-05-18T12:00:00

[[sessions]]
exam = "x"
id = "am"
paper = "Theory"
start = 2026-05-17T09:00:00
end = 2026-05-17T11:00:00
rooms = ["jinan/s01/101", "jinan/s01/102", "qingdao/s02/201"]

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
SITE = "jinan/s01"
GENERATED = datetime(2026, 5, 16, 20, 0, tzinfo=EXAM_TZ)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=EXAM_TZ)


@pytest.fixture(scope="module")
def plan() -> Calendar:
    return parse_calendar(CALENDAR)


@pytest.fixture(scope="module")
def wire(plan: Calendar) -> AgentCalendar:
    return calendar_to_wire(plan, SITE, GENERATED)


# --- the wire model ------------------------------------------------------------------------------------


def test_the_plan_version_is_the_files_hash_and_travels_with_the_slice(plan: Calendar, wire: AgentCalendar) -> None:
    assert plan.version == plan_version(CALENDAR)
    assert len(plan.version) == 16
    assert wire.version == plan.version
    assert wire.site == SITE
    assert [s.id for s in wire.sessions] == ["am", "pm", "night"]
    assert wire.sessions[0].rooms == ["101", "102"], "another site's rooms stay out of this site's slice"
    assert wire.sessions[1].rooms == ["*"]
    assert wire.sessions[2].checkin_start == at(17, 23, 10)
    assert [c.returned for c in wire.custody] == [at(18, 12)]
    assert (wire.jammer_on_before_s, wire.jammer_off_after_s) == (900, 600)


def test_a_site_outside_the_plan_gets_an_empty_slice_not_nothing(plan: Calendar) -> None:
    empty = calendar_to_wire(plan, "zibo/s09", GENERATED)
    assert empty.sessions == []
    assert empty.custody == []
    assert empty.version == plan.version
    assert msgspec.json.decode(encode(empty), type=AgentCalendar) == empty


def test_sessions_already_over_are_left_out(plan: Calendar) -> None:
    later = calendar_to_wire(plan, SITE, at(17, 16, 5))
    assert [s.id for s in later.sessions] == ["pm", "night"], "pm is still in its jammer grace minutes"
    assert [s.id for s in calendar_to_wire(plan, SITE, at(17, 16, 11)).sessions] == ["night"]


def test_the_wire_model_refuses_what_it_cannot_use(wire: AgentCalendar) -> None:
    doc = json.loads(encode(wire))
    bad_cases = [
        {**doc, "extra": 1},
        {**doc, "version": "not-hex"},
        {**doc, "site": "jinan"},
        {**doc, "sessions": [{**doc["sessions"][0], "end": doc["sessions"][0]["start"]}]},
        {**doc, "sessions": [{**doc["sessions"][0], "checkin_start": doc["sessions"][0]["end"]}]},
        {**doc, "sessions": [{**doc["sessions"][0], "start": "2026-05-17T09:00:00"}]},  # no offset
        {**doc, "sessions": [{**doc["sessions"][0], "rooms": []}]},
        {**doc, "sessions": [{**doc["sessions"][0], "paper": "p" * 129}]},
        {**doc, "custody": doc["custody"] * 2},
        {**doc, "sessions": doc["sessions"] * 400},
    ]
    for bad in bad_cases:
        with pytest.raises(msgspec.ValidationError):
            convert(bad, AgentCalendar)


def test_a_plan_built_in_code_has_no_version_and_no_wire_form(plan: Calendar) -> None:
    with pytest.raises(msgspec.ValidationError, match=r"\$\.version"):
        calendar_to_wire(replace(plan, version=""), SITE, GENERATED)


def test_a_long_paper_name_is_clipped_not_refused(plan: Calendar) -> None:
    long = replace(plan, sessions=tuple(replace(s, paper="P" * 500) for s in plan.sessions))
    out = calendar_to_wire(long, SITE, GENERATED)
    assert {len(s.paper) for s in out.sessions} == {128}


def test_heartbeats_from_agents_without_calendars_still_decode() -> None:
    base = {"v": 1, "type": "heartbeat", "agent": "jinan/s01/a1", "boot": "0123abcd", "seq": 3,
            "ts": "2026-05-17T00:00:00Z", "uptime_s": 1.0}  # fmt: skip
    _, old = decode_up("sw/v1/jinan/s01/a1/heartbeat", json.dumps(base).encode())
    assert isinstance(old, Heartbeat)
    assert old.calendar_version is None
    for held in ("none", "0123456789abcdef"):
        assert convert({**base, "calendar_version": held}, Heartbeat).calendar_version == held
    for bad in ("", "None", "0123", "0123456789ABCDEF", "none\n", "0123456789abcdef\n"):
        with pytest.raises(msgspec.ValidationError, match="calendar_version"):
            convert({**base, "calendar_version": bad}, Heartbeat)


# --- the agent's required state equals the hub's ---------------------------------------------------------

INSTANTS = [
    at(17, 8, 0),  # before check-in
    at(17, 8, 40),  # check-in, jammer still off
    at(17, 8, 50),  # check-in, jammer may be on
    at(17, 9, 0),  # sitting starts
    at(17, 10, 59),
    at(17, 11, 5),  # grace after
    at(17, 12, 0),  # between sessions
    at(17, 14, 30),  # "*" session
    at(17, 23, 59),  # night sitting, before midnight
    at(18, 0, 30),  # ... and after it
    at(18, 1, 30),  # after everything
    at(18, 13, 0),  # custody over
]


@pytest.mark.parametrize("room", ["101", "102", "103"])
@pytest.mark.parametrize("instant", INSTANTS, ids=lambda t: t.strftime("%d-%H:%M"))
def test_the_agent_requires_what_the_hub_requires(
    plan: Calendar, wire: AgentCalendar, room: str, instant: datetime
) -> None:
    hub = required_state(plan, SITE, room, instant)
    agent = required_state(calendar_from_wire(wire), SITE, room, instant)
    assert (agent.jammer, agent.readers, agent.vault, agent.phase, agent.next_change) == (
        hub.jammer,
        hub.readers,
        hub.vault,
        hub.phase,
        hub.next_change,
    )
    assert (agent.session.id if agent.session else None) == (hub.session.id if hub.session else None)


def test_required_state_on_the_agent_side_at_named_instants(wire: AgentCalendar) -> None:
    cal = calendar_from_wire(wire)
    assert required_state(cal, SITE, "101", at(17, 8)).jammer == "off"
    assert required_state(cal, SITE, "101", at(17, 10)).jammer == "on"
    assert required_state(cal, SITE, "103", at(17, 10)).jammer == "off", "103 does not sit the morning paper"
    assert required_state(cal, SITE, "103", at(17, 15)).phase == "sitting", "the '*' session covers it"
    assert required_state(cal, SITE, "101", at(18, 0, 30)).jammer == "on", "across midnight"
    assert required_state(cal, SITE, "101", at(18, 2)).jammer == "off"


# --- the agent keeps it ------------------------------------------------------------------------------------


def test_the_keeper_checks_persists_and_reloads(tmp_path: Path, wire: AgentCalendar) -> None:
    path = tmp_path / "calendar.json"
    keeper = CalendarKeeper(SITE, path)
    keeper.load()
    assert keeper.version is None
    keeper.offer(b"{not json")
    keeper.offer(encode(msgspec.structs.replace(wire, site="qingdao/s02")))
    assert keeper.apply_pending() is False
    assert keeper.counters.rejected == 2
    assert keeper.version is None
    assert not path.exists()

    keeper.offer(encode(wire))
    assert keeper.apply_pending() is True
    assert keeper.version == wire.version
    keeper.offer(encode(wire))
    assert keeper.apply_pending() is False, "the same calendar again (a retained redelivery) changes nothing"

    again = CalendarKeeper(SITE, path)
    again.load()
    assert again.message == wire
    assert [p.name for p in tmp_path.iterdir()] == ["calendar.json"], "no temporary file left behind"

    empty = msgspec.structs.replace(wire, sessions=[], custody=[])
    keeper.offer(encode(empty))
    assert keeper.apply_pending() is True
    third = CalendarKeeper(SITE, path)
    third.load()
    assert third.version == wire.version
    assert third.message is not None
    assert third.message.sessions == [], "an empty plan is kept as such"


def test_a_damaged_file_is_ignored_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "calendar.json"
    path.write_bytes(b'{"v": 1, "type": "calendar"')
    keeper = CalendarKeeper(SITE, path)
    keeper.load()
    assert keeper.version is None
    assert keeper.counters.rejected == 1


def test_check_names_the_problem(wire: AgentCalendar) -> None:
    with pytest.raises(CalendarRejected, match=r"qingdao"):
        check(encode(wire), "qingdao/s02")
    with pytest.raises(CalendarRejected, match="invalid calendar"):
        check(b"[]", SITE)


# --- the requirement in the device states -----------------------------------------------------------------


def test_jammer_and_probe_states_carry_their_rooms_requirement(wire: AgentCalendar) -> None:
    states = [
        DeviceState(kind="jammer", id="jam-101", status="ok", details={"band_gsm": "on"}),
        DeviceState(kind="probe", id="probe-103", status="ok", details={"verdict": "suppressed"}),
        DeviceState(kind="camera", id="cam", status="ok", details={}),
        DeviceState(kind="jammer", id="jam-nowhere", status="ok", details={}),
    ]
    rooms = {"jam-101": "101", "probe-103": "103", "cam": "vault", "jam-nowhere": None}
    cal = calendar_from_wire(wire)
    out = annotate(states, rooms, cal, SITE, at(17, 10))
    assert out[0].details == {"band_gsm": "on", REQUIRED_JAMMER: "on", IN_SESSION: True}
    assert out[1].details == {"verdict": "suppressed", REQUIRED_JAMMER: "off", IN_SESSION: False}
    assert out[2] == states[2]
    assert out[3] == states[3]
    assert annotate(states, rooms, None, SITE, at(17, 10)) == states
    full = DeviceState(kind="jammer", id="jam-101", status="ok", details={f"k{i}": i for i in range(64)})
    assert annotate([full], rooms, cal, SITE, at(17, 10)) == [full], "never past the 64 keys a state may hold"


# --- the hub's pusher --------------------------------------------------------------------------------------


class FakePlanIO:
    def __init__(self) -> None:
        self.stored: list[tuple[int, str]] = []
        self.agents: list[KnownAgent] = []

    def calendar_version(self) -> int | None:
        return self.stored[-1][0] if self.stored else None

    def latest_calendar(self) -> tuple[int, str] | None:
        return self.stored[-1] if self.stored else None

    def known_agents(self) -> list[KnownAgent]:
        return list(self.agents)


class Broker:
    def __init__(self) -> None:
        self.retained: dict[str, AgentCalendar] = {}
        self.sent: list[str] = []
        self.up = True

    def publish(self, agent_id: str, payload: bytes) -> bool:
        if not self.up:
            return False
        self.sent.append(agent_id)
        self.retained[agent_id] = msgspec.json.decode(payload, type=AgentCalendar)
        return True


def test_the_pusher_sends_on_import_on_birth_and_to_new_agents() -> None:
    io, broker = FakePlanIO(), Broker()
    pusher = CalendarPusher(io, broker.publish, clock=lambda: datetime(2026, 5, 16, 12, tzinfo=UTC))
    io.agents = [KnownAgent("jinan/s01/a1", SITE, "b1"), KnownAgent("zibo/s09/a1", "zibo/s09", "b2")]
    pusher.tick()
    assert broker.sent == [], "no plan imported: agents keep 'never received'"

    io.stored.append((1, CALENDAR))
    pusher.tick()
    assert sorted(broker.sent) == ["jinan/s01/a1", "zibo/s09/a1"]
    assert [s.id for s in broker.retained["jinan/s01/a1"].sessions] == ["am", "pm", "night"]
    assert broker.retained["zibo/s09/a1"].sessions == [], "a site without sessions is told so"
    pusher.tick()
    assert len(broker.sent) == 2, "nothing new: nothing sent"

    io.agents = [KnownAgent("jinan/s01/a1", SITE, "b3"), *io.agents[1:], KnownAgent("jinan/s01/a2", SITE, None)]
    pusher.tick()
    assert broker.sent[2:] == ["jinan/s01/a1", "jinan/s01/a2"], "a new boot and a new agent"

    changed = CALENDAR.replace('paper = "Practical"', 'paper = "Practical B"')
    io.stored.append((2, changed))
    broker.up = False
    pusher.tick()
    assert len(broker.sent) == 4
    broker.up = True
    pusher.tick()
    assert sorted(broker.sent[4:]) == ["jinan/s01/a1", "jinan/s01/a2", "zibo/s09/a1"], "retried once the broker is back"
    assert {c.version for c in broker.retained.values()} == {plan_version(changed)}


def test_an_unreadable_stored_plan_keeps_the_one_before() -> None:
    io, broker = FakePlanIO(), Broker()
    pusher = CalendarPusher(io, broker.publish, clock=lambda: GENERATED)
    io.agents = [KnownAgent("jinan/s01/a1", SITE, "b1")]
    io.stored.append((1, CALENDAR))
    pusher.tick()
    io.stored.append((2, "version = 99"))
    pusher.tick()
    assert broker.sent == ["jinan/s01/a1"]
    assert broker.retained["jinan/s01/a1"].version == plan_version(CALENDAR)


def test_planned_session_bounds() -> None:
    start = datetime(2026, 5, 17, 9, tzinfo=UTC)
    with pytest.raises(msgspec.ValidationError, match=r"rooms\[0\]"):
        checked(PlannedSession(id="a", exam="x", paper="p", rooms=["r" * 65], checkin_start=start, start=start,
                               end=start + timedelta(hours=1)))  # fmt: skip
    with pytest.raises(ValueError, match="needs checkin_start <= start < end"):
        PlannedSession(id="a", exam="x", paper="p", rooms=["*"], checkin_start=start, start=start, end=start)
    ok = PlannedSession(id="a", exam="x", paper="p", rooms=["*"], checkin_start=start, start=start,
                        end=start + timedelta(hours=1))  # fmt: skip
    assert ok.rooms == ["*"]


def test_the_exported_schema_matches_the_example() -> None:
    import jsonschema  # noqa: PLC0415

    from protocol.examples import examples  # noqa: PLC0415
    from protocol.schema_export import SCHEMA_DIR  # noqa: PLC0415

    schema = json.loads((SCHEMA_DIR / "calendar.v1.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    doc = json.loads(encode(examples()["calendar"]))
    jsonschema.validate(doc, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**doc, "surprise": 1}, schema)
