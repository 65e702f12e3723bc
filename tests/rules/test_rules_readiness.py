"""Go / no-go scheduling and alerts, and the stream cursors, pure."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from hub.calendar import Calendar, RoomRef, Session
from hub.rules.changes import AlertChange, CloseAlert, OpenAlert
from hub.rules.gonogo import AgentSeen, GoNoGo, GoNoGoPolicy
from hub.rules.jammer import DeviceSeen
from hub.rules.readiness import Schedule, ended_changes, fingerprint, run_now, verdict_changes
from hub.rules.site import SiteView
from hub.rules.streams import Cursor, Quarantined, StoredEvent, checkin_window, duplicate_alert, security_alert
from protocol.codec import encode
from protocol.messages import Heartbeat

SITE = "jinan/s01"
T0 = datetime(2026, 5, 17, 0, 0, tzinfo=UTC)
LEAD = timedelta(minutes=30)


def session(ident: str, start: datetime, sites: tuple[str, ...] = (SITE,)) -> Session:
    return Session("gen-exam", ident, "Generated paper", start, start + timedelta(hours=2), timedelta(minutes=30),
                   tuple(RoomRef(s, "101") for s in sites))  # fmt: skip


def test_checks_fall_due_lead_before_each_session_and_repeat_while_red():
    s1 = session("gen-a", T0 + timedelta(minutes=40))
    cal = Calendar(sessions=(s1,))
    plan = Schedule(LEAD, timedelta(seconds=60))
    assert plan.take(cal, T0) == [], "40 min ahead: not yet"
    assert plan.take(cal, T0 + timedelta(minutes=10)) == [(SITE, s1)]
    plan.done(SITE, s1, False, T0 + timedelta(minutes=10))
    assert plan.take(cal, T0 + timedelta(minutes=10, seconds=30)) == []
    assert plan.take(cal, T0 + timedelta(minutes=11)) == [(SITE, s1)], "red: checked again"
    plan.done(SITE, s1, True, T0 + timedelta(minutes=11))
    assert plan.take(cal, T0 + timedelta(minutes=20)) == [], "green: done"


def test_a_restart_inside_the_lead_checks_again_but_not_a_started_session():
    s1 = session("gen-a", T0 + timedelta(minutes=20))
    s2 = session("gen-b", T0 - timedelta(minutes=5), sites=("qingdao/s02",))
    plan = Schedule(LEAD, timedelta(seconds=60))
    assert plan.take(Calendar(sessions=(s1, s2)), T0) == [(SITE, s1)]


def result(green: bool, session: str | None = "gen-a") -> GoNoGo:
    from hub.rules.gonogo import Check  # noqa: PLC0415

    checks = (Check("readers", green, () if green else ("room 101: no ID-card reader",)),)
    return GoNoGo(SITE, session, T0, checks)


def test_red_opens_green_closes_and_no_session_alerts_nobody():
    v = SiteView(SITE)
    [red] = verdict_changes(result(False), v, T0)
    assert isinstance(red, OpenAlert)
    assert (red.fingerprint, red.kind, red.severity) == (fingerprint(SITE, "gen-a"), "gonogo", "critical")
    assert "no ID-card reader" in red.summary
    assert verdict_changes(result(True), v, T0) == [CloseAlert(fingerprint(SITE, "gen-a"), T0)]
    assert verdict_changes(result(False, None), v, T0) == []
    ended = session("gen-a", T0 - timedelta(hours=3))
    assert ended_changes({(SITE, "gen-a"), (SITE, "gone")}, Calendar(sessions=(ended,)), T0) != []
    assert len(ended_changes({(SITE, "gen-a"), (SITE, "gone")}, Calendar(sessions=(ended,)), T0)) == 2


class FakeReadiness:
    def __init__(self, calendar_text: str | None, view: SiteView) -> None:
        self.text = calendar_text
        self.view = view
        self.recorded: list[tuple[GoNoGo, str, str]] = []
        self.applied: list[AlertChange] = []

    def latest_calendar(self) -> tuple[int, str] | None:
        return None if self.text is None else (1, self.text)

    def site_views(self, sites: Collection[str], now: datetime) -> Mapping[str, SiteView]:
        return {self.view.site: self.view}

    def record_gonogo(self, result: GoNoGo, trigger: str, requested_by: str) -> None:
        self.recorded.append((result, trigger, requested_by))

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        self.applied += changes
        return list(changes)


def test_on_demand_without_a_calendar_checks_every_room_and_alerts_nobody():
    reader = DeviceSeen("idcard", "reader-101", "101", "ok", {}, T0)
    agent = AgentSeen(f"{SITE}/a1", True, 0.1, 0, T0)
    io = FakeReadiness(None, SiteView(SITE, (agent,), (reader,), {"reader-101": f"{SITE}/a1"}))
    checked = run_now(io, SITE, T0, GoNoGoPolicy(require_probe=False), "gen-officer")
    assert checked.session is None
    assert {c.name for c in checked.result.checks if not c.ok} == {"vault_cameras", "jammers"}
    assert [(t, by) for _, t, by in io.recorded] == [("demand", "gen-officer")]
    assert io.applied == []


def test_cursor_overlap_handles_each_row_once():
    c: Cursor[int] = Cursor()
    assert c.after() is None
    assert c.fresh([(1, T0), (2, T0 + timedelta(seconds=1))]) == [1, 2]
    assert c.after() == T0 + timedelta(seconds=1) - timedelta(seconds=10)
    assert c.fresh([(2, T0 + timedelta(seconds=1)), (3, T0)]) == [3], "a late commit inside the overlap"
    assert c.fresh([(4, T0 + timedelta(minutes=5))]) == [4]
    assert c.fresh([(1, T0)]) == [1], "far behind the position: forgotten (never asked for again)"


def checkin_event(room: str, candidate: str, at: datetime, seq: int) -> StoredEvent:
    details = {"room": room, "result": "ok", "candidate": candidate, "masked": "00**********0001"}
    return StoredEvent(f"{SITE}/a1", "b1", seq, f"reader-{room}", "idcard.checkin", details, at, at)


def test_duplicate_checkin_and_window():
    s = session("gen-a", T0 + timedelta(minutes=10))
    s = Session(s.exam, s.id, s.paper, s.start, s.end, s.checkin, (RoomRef(SITE, "101"), RoomRef(SITE, "102")))
    cal = Calendar(sessions=(s,))
    assert checkin_window(cal, T0 - timedelta(hours=1)) is None
    window = checkin_window(cal, T0)
    assert window is not None
    assert window[0] == s.checkin_start
    first = checkin_event("101", "gen-hmac", T0, 1)
    second = checkin_event("102", "gen-hmac", T0 + timedelta(seconds=5), 2)
    alert = duplicate_alert(second, [first, second], s)
    assert alert is not None
    assert (alert.kind, alert.severity, alert.agent_id) == ("idcard.duplicate_checkin", "critical", f"{SITE}/a1")
    assert duplicate_alert(checkin_event("101", "gen-hmac", T0, 3), [first], s) is None


def test_security_alert_from_a_quarantined_forgery():
    forged = Heartbeat(agent=f"{SITE}/a2", boot="b1b1b1b1", seq=1, ts=T0, uptime_s=1.0)
    row = Quarantined(9, T0, f"sw/v1/{SITE}/a1/heartbeat", encode(forged), "identity_mismatch")
    alert = security_alert(row)
    assert alert is not None
    assert (alert.agent_id, alert.severity, alert.details["quarantine_id"]) == (f"{SITE}/a1", "critical", 9)
    assert security_alert(Quarantined(10, T0, row.topic, b"{}", "bad_json")) is None
