"""The per-site rules and their hysteresis, pure: what the engine opens, clears and raises in place."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.calendar import Calendar, Custody, RoomRef, Session
from hub.rules.changes import CloseAlert, OpenAlert, RaiseSeverity
from hub.rules.gonogo import AgentSeen
from hub.rules.jammer import DeviceSeen
from hub.rules.settings import RulesSettings
from hub.rules.site import OpenRuleAlert, SiteState, SiteView, advance_site, evaluate_site, resume_site
from hub.rules.windows import VaultWindows, vault_authorised
from protocol.messages import Scalar

SITE = "jinan/s01"
T0 = datetime(2026, 5, 17, 0, 30, tzinfo=UTC)  # 08:30 in Beijing
SETTINGS = RulesSettings()


def session(start: datetime, minutes: int = 120, checkin: int = 30, room: str = "101") -> Session:
    return Session("gen-exam", "gen-s1", "Generated paper", start, start + timedelta(minutes=minutes),
                   timedelta(minutes=checkin), (RoomRef(SITE, room),))  # fmt: skip


def calendar(*sessions: Session, arrival_due: datetime = T0 - timedelta(hours=12)) -> Calendar:
    custody = Custody("jinan", arrival_due - timedelta(hours=4), arrival_due, T0 + timedelta(days=1))
    return Calendar(sessions=sessions, custody=(custody,))


def device(kind: str, device_id: str, room: str, status: str, details: dict[str, Scalar], at: datetime) -> DeviceSeen:
    return DeviceSeen(kind, device_id, room, status, details, at)  # type: ignore[arg-type]


def view(*devices: DeviceSeen) -> SiteView:
    agent = AgentSeen(f"{SITE}/a1", True, 0.0, 0, T0)
    return SiteView(SITE, (agent,), devices, {d.id: f"{SITE}/a1" for d in devices})


def run(cal: Calendar, v: SiteView, times: list[datetime], state: SiteState | None = None) -> tuple[SiteState, list]:  # type: ignore[type-arg]
    state = state or SiteState()
    out = []
    for at in times:
        state, changes = advance_site(state, evaluate_site(cal, v, at, settings=SETTINGS), v, at, SETTINGS)
        out += changes
    return state, out


def ticks(start: datetime, seconds: int) -> list[datetime]:
    return [start + timedelta(seconds=s) for s in range(seconds + 1)]


def test_absent_reader_warning_is_raised_in_place_when_checkin_opens():
    opens = T0 + timedelta(minutes=5)
    cal = calendar(session(opens + timedelta(minutes=30)))
    absent = device("idcard", "reader-101", "101", "offline", {"state": "absent"}, None)  # type: ignore[arg-type]
    # Stale from the start (no state yet): the warning needs warning_after (60 s) to hold.
    state, changes = run(cal, view(absent), ticks(T0, 70))
    before = [c for c in changes if c.fingerprint.startswith("idcard.")]
    assert [(type(c), c.severity) for c in before] == [(OpenAlert, "warning")]  # type: ignore[union-attr]
    fingerprint = before[0].fingerprint
    state, changes = run(cal, view(absent), ticks(opens, 2), state)
    after = [c for c in changes if c.fingerprint.startswith("idcard.")]
    assert after == [RaiseSeverity(fingerprint, "critical", after[0].summary, after[0].details)]  # type: ignore[union-attr]
    assert "during check-in" in after[0].summary  # type: ignore[union-attr]
    _, again = run(cal, view(absent), ticks(opens + timedelta(seconds=3), 3), state)
    assert [c for c in again if c.fingerprint.startswith("idcard.")] == [], "raised once, not every tick"


def test_person_alone_raised_once_and_named_by_the_counting_camera():
    cal = calendar(session(T0 + timedelta(minutes=30)))
    cam = device("camera", "vault-cam-1", "vault", "ok",
                 {"people": 1, "problems": "", "tamper_checks": True, "snapshot": "ab12"}, T0)  # fmt: skip
    _, changes = run(cal, view(cam), ticks(T0, 20))
    opened = [c for c in changes if isinstance(c, OpenAlert) and c.kind.startswith("vault.")]
    assert [(c.kind, c.device_id, c.agent_id) for c in opened] == [("vault.alone", "vault-cam-1", f"{SITE}/a1")]
    assert opened[0].details["snapshot"] == "ab12"
    assert opened[0].details["held_s"] == 8.0


def test_site_without_cameras_outside_custody_is_not_a_vault():
    cal = calendar(session(T0 + timedelta(hours=30)), arrival_due=T0 + timedelta(hours=20))
    assert evaluate_site(cal, view(), T0, settings=SETTINGS).vault == ()
    # In custody, no camera at all: the vault is unobserved.
    findings = evaluate_site(cal, view(), T0 + timedelta(hours=21), settings=SETTINGS).vault
    assert [f.kind for f in findings] == ["vault.unobserved"]


def test_arrival_report_opens_custody_early():
    cal = calendar(session(T0 + timedelta(hours=30)), arrival_due=T0 + timedelta(hours=20))
    assert evaluate_site(cal, view(), T0 + timedelta(hours=1), arrival_reported_at=T0, settings=SETTINGS).vault


def test_resumed_alerts_clear_once_their_condition_is_gone():
    cal = calendar()
    alerts = [
        OpenRuleAlert("jammer.band_off:jinan/s01:101:jammer-101:gsm", "jammer.band_off", "critical", SITE,
                      "jammer-101", "was off", {"room": "101"}, T0 - timedelta(hours=1)),
        OpenRuleAlert("vault.alone:jinan/s01:vault:critical", "vault.alone", "critical", SITE, None, "alone",
                      {"vault": "vault"}, T0 - timedelta(hours=1)),
    ]  # fmt: skip
    state = resume_site(alerts, T0)
    _, changes = run(cal, view(), ticks(T0, 40), state)
    assert sorted(c.fingerprint for c in changes if isinstance(c, CloseAlert)) == sorted(a.fingerprint for a in alerts)


def test_agent_for_falls_back_to_the_room_then_the_site():
    jam = device("jammer", "jammer-101", "101", "ok", {}, T0)
    v = view(jam)
    assert v.agent_for("jammer-101") == f"{SITE}/a1"
    assert v.agent_for(None, "101") == f"{SITE}/a1"
    assert SiteView(SITE).agent_for() == f"{SITE}/hub"


def test_vault_windows():
    start = T0 + timedelta(hours=3)
    cal = calendar(session(start))
    w = VaultWindows(handout=timedelta(minutes=60), returning=timedelta(minutes=60), arrival=timedelta(minutes=60))
    custody = cal.custody[0]
    assert not vault_authorised(cal, SITE, T0, windows=w), "custody, no window"
    assert vault_authorised(cal, SITE, start - timedelta(minutes=30), windows=w), "hand-out"
    assert not vault_authorised(cal, SITE, start + timedelta(minutes=30), windows=w), "during the sitting"
    assert vault_authorised(cal, SITE, start + timedelta(minutes=150), windows=w), "return"
    assert vault_authorised(cal, SITE, custody.arrival_due + timedelta(minutes=10), windows=w), "storing"
    assert vault_authorised(cal, SITE, custody.returned - timedelta(minutes=10), windows=w), "collecting"
    assert vault_authorised(cal, SITE, custody.returned + timedelta(minutes=10), windows=w), "no custody"
    early = custody.arrival_due - timedelta(hours=2)
    assert vault_authorised(cal, SITE, early + timedelta(minutes=5), arrival_reported_at=early, windows=w)
