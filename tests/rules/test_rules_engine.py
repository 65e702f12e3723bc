"""The engine's loop over a fake store: leadership, resuming, calendar versions, failures, streams."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.errors import StoreUnavailable
from hub.rules.changes import AlertChange, CloseAlert, OpenAlert
from hub.rules.engine import RulesEngine
from hub.rules.gonogo import AgentSeen, GoNoGo
from hub.rules.jammer import DeviceSeen
from hub.rules.settings import RulesSettings
from hub.rules.site import OpenRuleAlert, SiteView
from hub.rules.streams import Quarantined, StoredEvent
from protocol.codec import encode
from protocol.messages import Heartbeat, Scalar

SITE = "jinan/s01"
T0 = datetime(2026, 5, 17, 0, 50, tzinfo=UTC)  # 08:50 Beijing: the 09:00 session below is 10 min ahead

CALENDAR = """
version = 1
jammer_on_before_minutes = 0
jammer_off_after_minutes = 0
[[exams]]
id = "gen-exam"
[[sessions]]
exam = "gen-exam"
id = "gen-am"
paper = "Generated paper"
start = 2026-05-17T09:00:00
end = 2026-05-17T11:00:00
checkin_minutes = 0
rooms = ["jinan/s01/101"]
[[custody]]
city = "jinan"
collection = 2026-05-16T08:00:00
arrival_due = 2026-05-16T18:00:00
return = 2026-05-18T12:00:00
"""


class FakeIO:
    def __init__(self) -> None:
        self.leading = True
        self.calendars: list[str] = []
        self.devices: list[DeviceSeen] = []
        self.open: dict[str, OpenRuleAlert] = {}
        self.applied: list[AlertChange] = []
        self.gonogo: list[tuple[GoNoGo, str]] = []
        self.quarantine: list[Quarantined] = []
        self.events: list[StoredEvent] = []
        self.cursors: dict[str, datetime] = {}
        self.fail_apply = False

    def lead(self) -> bool:
        return self.leading

    def calendar_version(self) -> int | None:
        return len(self.calendars) or None

    def latest_calendar(self) -> tuple[int, str] | None:
        return (len(self.calendars), self.calendars[-1]) if self.calendars else None

    def site_views(self, sites: Collection[str], now: datetime) -> Mapping[str, SiteView]:
        agent = AgentSeen(f"{SITE}/a1", True, 0.0, 0, now)
        owners = {d.id: f"{SITE}/a1" for d in self.devices}
        fresh = tuple(replace(d, seen_at=now) for d in self.devices)  # the agent keeps reporting
        return {SITE: SiteView(SITE, (agent,), fresh, owners)} if SITE in sites else {}

    def arrivals(self, since: datetime) -> Mapping[str, datetime]:
        return {}

    def open_rule_alerts(self) -> list[OpenRuleAlert]:
        return list(self.open.values())

    def apply(self, changes: Sequence[AlertChange]) -> list[AlertChange]:
        if self.fail_apply:
            raise StoreUnavailable("the database went away")
        done: list[AlertChange] = []
        for c in changes:
            if isinstance(c, OpenAlert) and c.fingerprint not in self.open:
                self.open[c.fingerprint] = OpenRuleAlert(c.fingerprint, c.kind, c.severity, SITE, c.device_id,
                                                         c.summary, dict(c.details), c.at)  # fmt: skip
                done.append(c)
            elif isinstance(c, CloseAlert) and self.open.pop(c.fingerprint, None) is not None:
                done.append(c)
        self.applied += done
        return done

    def record_gonogo(self, result: GoNoGo, trigger: str, requested_by: str) -> None:
        self.gonogo.append((result, trigger))

    def checkins(
        self, *, received_after: datetime | None, time_from: datetime, time_until: datetime
    ) -> list[StoredEvent]:
        return [e for e in self.events if received_after is None or e.received_at > received_after]

    def checkins_of(self, candidate: str, time_from: datetime, time_until: datetime) -> list[StoredEvent]:
        return [e for e in self.events if e.details.get("candidate") == candidate]

    def identity_mismatches(self, received_after: datetime) -> list[Quarantined]:
        return [q for q in self.quarantine if q.received_at > received_after]

    def cursor(self, name: str) -> datetime | None:
        return self.cursors.get(name)

    def set_cursor(self, name: str, position: datetime, now: datetime) -> None:
        self.cursors[name] = position


SETTINGS = RulesSettings(settle=timedelta(seconds=5))


def jammer(band: str) -> DeviceSeen:
    details: dict[str, Scalar] = {"band_gsm": band}
    return DeviceSeen("jammer", "jammer-101", "101", "ok", details, T0)


def engine(io: FakeIO, healthy_for: float = 100.0) -> RulesEngine:
    return RulesEngine(io, SETTINGS, writer_healthy_for=lambda: healthy_for)


def test_without_a_calendar_nothing_is_required():
    io = FakeIO()
    io.devices = [jammer("on")]
    e = engine(io)
    for s in range(120):
        e.tick(T0 + timedelta(seconds=s))
    assert io.applied == []
    assert io.gonogo == []


def test_calendar_makes_the_rules_run_and_gonogo_falls_due():
    io = FakeIO()
    io.devices = [jammer("on")]
    io.calendars.append(CALENDAR)
    e = engine(io)
    e.tick(T0)
    assert [(r.site, r.session, t) for r, t in io.gonogo] == [(SITE, "gen-am", "schedule")]
    assert "gonogo:jinan/s01:gen-am" in io.open, "red: no reader, no probe, no camera"
    # Jammer on 10 min before the sitting (outside the grace): a warning after warning_after (60 s).
    for s in range(1, 62):
        e.tick(T0 + timedelta(seconds=s))
    assert "jammer.on_outside_session:jinan/s01:101:jammer-101" in io.open


def test_nothing_while_the_writer_settles_or_another_hub_leads():
    io = FakeIO()
    io.calendars.append(CALENDAR)
    engine(io, healthy_for=1.0).tick(T0)
    assert io.gonogo == []
    io.leading = False
    engine(io).tick(T0)
    assert io.gonogo == []


def test_resumed_alert_clears_when_its_condition_is_gone():
    io = FakeIO()
    io.calendars.append(CALENDAR)
    io.devices = [jammer("off")]
    fp = "jammer.on_outside_session:jinan/s01:101:jammer-101"
    io.open[fp] = OpenRuleAlert(fp, "jammer.on_outside_session", "warning", SITE, "jammer-101", "on",
                                {"room": "101"}, T0 - timedelta(hours=1))  # fmt: skip
    e = engine(io)
    for s in range(0, 40):
        e.tick(T0 + timedelta(seconds=s))
    assert fp not in io.open
    assert [c for c in io.applied if c.fingerprint == fp] == [CloseAlert(fp, T0 + timedelta(seconds=30))]


def test_a_failed_write_is_decided_again():
    io = FakeIO()
    io.calendars.append(CALENDAR)
    io.devices = [jammer("on")]
    e = engine(io)
    for s in range(0, 60):
        e.tick(T0 + timedelta(seconds=s))
    io.fail_apply = True
    with pytest.raises(StoreUnavailable):
        e.tick(T0 + timedelta(seconds=60))  # the warning is due now, and cannot be written
    io.fail_apply = False
    e.tick(T0 + timedelta(seconds=61))
    assert "jammer.on_outside_session:jinan/s01:101:jammer-101" in io.open


def test_a_new_calendar_version_is_picked_up():
    io = FakeIO()
    e = engine(io)
    e.tick(T0)
    assert io.gonogo == []
    io.calendars.append(CALENDAR)
    e.tick(T0 + timedelta(seconds=1))
    assert len(io.gonogo) == 1


def test_quarantined_forgery_alerts_once_and_moves_the_cursor():
    io = FakeIO()
    forged = Heartbeat(agent=f"{SITE}/a2", boot="b1b1b1b1", seq=1, ts=T0, uptime_s=1.0)
    io.quarantine.append(Quarantined(1, T0, f"sw/v1/{SITE}/a1/heartbeat", encode(forged), "identity_mismatch"))
    e = engine(io)
    e.tick(T0 + timedelta(seconds=1))
    e.tick(T0 + timedelta(seconds=2))
    assert [c.fingerprint for c in io.applied] == [f"security.identity_mismatch:{SITE}/a1:critical"]
    assert io.cursors["quarantine"] == T0


def test_duplicate_checkin_from_the_event_stream():
    io = FakeIO()
    io.calendars.append(CALENDAR.replace("checkin_minutes = 0", "checkin_minutes = 30").replace(
        '"jinan/s01/101"]', '"jinan/s01/101", "jinan/s01/102"]'))  # fmt: skip
    e = engine(io)
    e.tick(T0)
    for seq, room in enumerate(("101", "102"), start=1):
        details: dict[str, Scalar] = {"room": room, "result": "ok", "candidate": "gen-hmac", "masked": "00**1"}
        at = T0 + timedelta(seconds=seq)
        io.events.append(StoredEvent(f"{SITE}/a1", "b1", seq, f"reader-{room}", "idcard.checkin", details, at, at))
    e.tick(T0 + timedelta(seconds=3))
    e.tick(T0 + timedelta(seconds=4))
    dup = [c for c in io.applied if c.fingerprint.startswith("idcard.duplicate_checkin")]
    assert len(dup) == 1


def test_rules_section_becomes_the_policies():
    from hub.config import parse_config  # noqa: PLC0415
    from hub.errors import HubConfigError  # noqa: PLC0415

    base: dict[str, object] = {"hub": {}, "mqtt": {"host": "127.0.0.1"}, "database": {"dsn": "postgresql://x"}}
    rules = {"critical_after_s": 2, "vault_alone_after_s": 3.5, "gonogo_lead_minutes": 45.0, "require_probe": False}
    s = RulesSettings.from_section(parse_config({**base, "rules": rules}, "hub.toml").rules)
    assert s.hysteresis.delay("critical") == timedelta(seconds=2)
    assert s.vault.alone_after == timedelta(seconds=3.5)
    assert s.gonogo_lead == timedelta(minutes=45)
    assert s.gonogo.require_probe is False
    with pytest.raises(HubConfigError) as info:
        parse_config({**base, "rules": {"tick_s": 0.0}}, "hub.toml")
    assert info.value.key == "rules.tick_s"
