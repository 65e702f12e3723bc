"""The lifecycle, dispatch, outbox and federation in the real database (no hub process)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from alert_clock import at

from hub.alerts.mute import Inhibitor, Silence
from hub.notify.dispatcher import Routing, decide
from hub.notify.settings import ChainSection, EscalationSection
from hub.store import Connection, alerts, dashboard, desk, escalation, federation, notifications
from hub.store.escalation import AlertRecord, Decision

AGENT = "jinan/s01/a1"
SETTINGS = EscalationSection(
    tick_s=0.1,
    warning=ChainSection(province_after_s=60.0, renotify_every_s=120.0),
    critical=ChainSection(province_after_s=0.0, renotify_every_s=60.0),
)
ROUTING = Routing(hub="jinan", role="city", desk=(("desk:hook", frozenset({"warning", "critical"})),), province=True)


def raise_(
    conn: Connection,
    fp: str,
    s: float,
    *,
    kind: str = "jammer_off",
    severity: str = "warning",
    device: str | None = "jammer-101",
    agent: str = AGENT,
) -> bool:
    return alerts.open_alert(
        conn,
        fingerprint=fp,
        kind=kind,
        severity=severity,
        agent_id=agent,
        summary=f"{kind} {fp}",
        details={"room": "101"},
        opened_at=at(s),
        device_id=device,
    )


def row(conn: Connection, fp: str) -> dict[str, Any]:
    cur = conn.execute(
        "SELECT id, state, occurrences, generation, flapping, active, closed_at FROM alerts WHERE fingerprint = %s"
        " ORDER BY id DESC LIMIT 1",
        (fp,),
    )
    names = [d.name for d in cur.description or ()]
    found = cur.fetchone()
    assert found is not None, fp
    return dict(zip(names, found, strict=True))


def count(conn: Connection, sql: str, *args: object) -> int:
    found = conn.execute(sql, args).fetchone()
    assert found is not None
    return int(found[0])


def _decide(r: AlertRecord, s: Sequence[Silence], i: Sequence[Inhibitor], now: datetime) -> Decision:
    return decide(r, s, i, now, settings=SETTINGS, routing=ROUTING)


def queued(conn: Connection) -> list[tuple[str, str, str]]:
    rows = conn.execute(
        "SELECT a.fingerprint, n.target, n.event FROM notifications n JOIN alerts a ON a.id = n.alert_id ORDER BY n.id"
    ).fetchall()
    return [(str(a), str(b), str(c)) for a, b, c in rows]


def test_one_alert_per_fingerprint_reopened_and_flapping(conn: Connection):
    assert raise_(conn, "f1", 0) is True
    assert raise_(conn, "f1", 1) is False  # already open: counted as nothing
    assert alerts.close_alert(conn, "f1", at(10)) is True
    assert row(conn, "f1")["state"] == "resolved"
    assert raise_(conn, "f1", 20) is True  # reopened: the same row
    first = row(conn, "f1")
    assert (first["occurrences"], first["generation"], first["state"], first["flapping"]) == (2, 2, "firing", False)
    assert alerts.close_alert(conn, "f1", at(30)) is True
    assert raise_(conn, "f1", 40) is True  # the third opening within the window: flapping
    assert alerts.close_alert(conn, "f1", at(50)) is False  # held open
    held = row(conn, "f1")
    assert (held["id"], held["state"], held["flapping"], held["active"]) == (first["id"], "firing", True, False)
    assert alerts.tick(conn, at(100)) == 0  # not calm long enough
    assert alerts.tick(conn, at(111)) == 1
    assert row(conn, "f1")["state"] == "resolved"
    assert count(conn, "SELECT count(*) FROM alerts WHERE fingerprint = 'f1'") == 1


def test_pending_for_its_duration_then_firing_or_discarded(conn: Connection):
    assert raise_(conn, "v1", 0, kind="vault_unobserved") is False
    assert count(conn, "SELECT count(*) FROM alerts") == 0  # not shown while pending
    assert alerts.tick(conn, at(4)) == 0
    assert alerts.tick(conn, at(5)) == 1
    assert row(conn, "v1")["state"] == "firing"
    raise_(conn, "v2", 10, kind="vault_unobserved")
    assert alerts.close_alert(conn, "v2", at(12)) is False
    assert alerts.tick(conn, at(100)) == 0
    assert count(conn, "SELECT count(*) FROM alerts WHERE fingerprint = 'v2'") == 0


def test_dispatch_queues_once_escalates_and_forwards_the_acknowledgement(conn: Connection):
    raise_(conn, "w1", 0)
    escalation.dispatch(conn, at(0), _decide)
    assert queued(conn) == [("w1", "desk:hook", "firing")]
    escalation.dispatch(conn, at(1), _decide)  # nothing changed, nothing due
    assert len(queued(conn)) == 1
    escalation.dispatch(conn, at(60), _decide)  # unacknowledged for province_after_s
    assert queued(conn)[1:] == [("w1", "province", "escalated")]
    alert_id = row(conn, "w1")["id"]
    assert (
        dashboard.acknowledge_alert(
            conn,
            alert_id,
            None,
            by="gen-city-jinan",
            by_id=None,
            comment="on it",  # type: ignore[arg-type]
            now=at(70),
        )
        is not None
    )
    escalation.dispatch(conn, at(70), _decide)
    assert queued(conn)[2:] == [("w1", "province", "acknowledged")]
    escalation.dispatch(conn, at(500), _decide)  # acknowledged: no re-notification
    assert len(queued(conn)) == 3
    alerts.close_alert(conn, "w1", at(600))
    escalation.dispatch(conn, at(600), _decide)
    assert queued(conn)[3:] == [("w1", "desk:hook", "resolved"), ("w1", "province", "resolved")]


def test_an_alert_resolved_before_anyone_acknowledged_it(conn: Connection):
    raise_(conn, "w2", 0)
    escalation.dispatch(conn, at(0), _decide)
    alerts.close_alert(conn, "w2", at(30))  # before province_after_s
    escalation.dispatch(conn, at(30), _decide)
    escalation.dispatch(conn, at(300), _decide)
    assert queued(conn) == [("w2", "desk:hook", "firing"), ("w2", "desk:hook", "resolved")]


def test_silence_then_its_expiry(conn: Connection):
    s = desk.add_silence(
        conn,
        matchers={"city": "jinan", "kind": "jammer_off"},
        starts_at=at(0),
        ends_at=at(30),
        by="gen-city-jinan",
        by_id=None,
        reason="jammer maintenance drill",
        now=at(0),
    )
    raise_(conn, "s1", 1)
    escalation.dispatch(conn, at(1), _decide)
    assert queued(conn) == []
    escalation.dispatch(conn, at(29), _decide)
    assert queued(conn) == []
    escalation.dispatch(conn, at(30), _decide)  # the silence ends: the desk is told now
    assert queued(conn) == [("s1", "desk:hook", "firing")]
    raise_(conn, "s2", 31, device="jammer-102")
    desk.add_silence(
        conn,
        matchers={"fingerprint": "s2"},
        starts_at=at(31),
        ends_at=at(3600),
        by="gen-city-jinan",
        by_id=None,
        reason="known",
        now=at(31),
    )
    escalation.dispatch(conn, at(32), _decide)
    assert len(queued(conn)) == 1
    assert desk.expire_silence(conn, s.id, "qingdao", by="gen-city-qingdao", now=at(33)) is None  # not theirs
    expired = [x.id for x in desk.list_silences(conn, at(40), "jinan", include_expired=False)]
    assert s.id not in expired


def test_an_offline_agent_inhibits_its_devices_alerts(conn: Connection):
    raise_(conn, "agent_offline:" + AGENT, 0, kind="agent_offline", severity="critical", device=None)
    raise_(conn, "d1", 0)
    escalation.dispatch(conn, at(0), _decide)
    assert [(fp, t) for fp, t, _ in queued(conn)] == [
        (f"agent_offline:{AGENT}", "desk:hook"),
        (f"agent_offline:{AGENT}", "province"),
    ]
    alerts.close_alert(conn, "agent_offline:" + AGENT, at(10))
    escalation.dispatch(conn, at(20), _decide)  # inhibited alerts are looked at again
    assert ("d1", "desk:hook", "firing") in queued(conn)


def test_a_site_with_every_agent_offline_inhibits_their_alerts(conn: Connection):
    conn.execute(
        "INSERT INTO agents (agent_id, city, site, name, online) VALUES"
        " ('jinan/s01/a1', 'jinan', 's01', 'a1', false), ('jinan/s01/a2', 'jinan', 's01', 'a2', false)"
    )
    for agent in ("jinan/s01/a1", "jinan/s01/a2"):
        raise_(conn, f"agent_offline:{agent}", 0, kind="agent_offline", severity="critical", device=None, agent=agent)
    assert escalation.sync_site_offline(conn, at(0)) == (1, 0)
    escalation.dispatch(conn, at(0), _decide)
    assert {fp for fp, _, _ in queued(conn)} == {"site_offline:jinan/s01"}
    conn.execute("UPDATE agents SET online = true WHERE agent_id = 'jinan/s01/a2'")
    assert escalation.sync_site_offline(conn, at(5)) == (0, 1)


def test_the_outbox_leases_records_receipts_and_retries(conn: Connection):
    raise_(conn, "o1", 0, severity="critical")
    escalation.dispatch(conn, at(0), _decide)
    (province,) = notifications.claim(conn, "province", at(0), lease_s=30)
    assert notifications.claim(conn, "province", at(1), lease_s=30) == []  # leased
    notifications.failed(conn, province, "connection refused", at(1), retry_at=at(3))
    assert notifications.claim(conn, "province", at(2), lease_s=30) == []
    (again,) = notifications.claim(conn, "province", at(3), lease_s=30)
    assert (again.key, again.attempts) == (province.key, 2)  # the same idempotency key on every attempt
    notifications.delivered(conn, again, {"receipt": 7, "duplicate": False}, at(4))
    assert notifications.claim(conn, "province", at(100), lease_s=30) == []
    (d,) = [x for x in notifications.deliveries(conn, again.alert_id) if x.target == "province"]
    assert (d.delivered_at, d.receipt, d.attempts) == (at(4), {"receipt": 7, "duplicate": False}, 2)


def _delivery(alert_id: int, version: int, **extra: object) -> dict[str, Any]:
    alert = {
        "id": alert_id,
        "version": version,
        "fingerprint": "agent_offline:jinan/s01/a1",
        "kind": "agent_offline",
        "severity": "critical",
        "city": "jinan",
        "site": "s01",
        "agent_id": "jinan/s01/a1",
        "device_id": None,
        "summary": "agent offline",
        "details": {},
        "opened_at": at(0).isoformat(),
        "fired_at": at(0).isoformat(),
        "closed_at": None,
        "acknowledged_at": None,
        "acknowledged_by": None,
        "ack_comment": None,
        "occurrences": 1,
        "generation": 1,
        "flapping": False,
        "origin_hub": None,
        "origin_alert_id": None,
        **extra,
    }
    return {"v": 1, "hub": "jinan", "role": "city", "event": "escalated", "n": 1, "alert": alert}


def test_the_province_keeps_one_mirror_per_alert_whatever_the_retries(conn: Connection):
    key = "5b0e8f1e-98b9-4d59-9d59-3f1b1f0d0a01"
    first = federation.receive(
        conn,
        hub="jinan",
        key=key,
        event="escalated",
        sent_at=None,
        payload=_delivery(41, 2),
        now=at(1),
        role="province",
    )
    again = federation.receive(
        conn,
        hub="jinan",
        key=key,
        event="escalated",
        sent_at=None,
        payload=_delivery(41, 2),
        now=at(2),
        role="province",
    )
    assert not first.duplicate
    assert again.duplicate
    assert again.id == first.id
    assert again.alert_id == first.alert_id
    assert count(conn, "SELECT count(*) FROM alerts WHERE origin_hub = 'jinan'") == 1
    resolved = _delivery(41, 4, closed_at=at(9).isoformat())
    federation.receive(
        conn,
        hub="jinan",
        key="5b0e8f1e-98b9-4d59-9d59-3f1b1f0d0a02",
        event="resolved",
        sent_at=None,
        payload=resolved,
        now=at(10),
        role="province",
    )
    late = _delivery(41, 3)  # an older snapshot arriving after a newer one changes nothing
    federation.receive(
        conn,
        hub="jinan",
        key="5b0e8f1e-98b9-4d59-9d59-3f1b1f0d0a03",
        event="renotify",
        sent_at=None,
        payload=late,
        now=at(11),
        role="province",
    )
    mirror = row(conn, "jinan/41")
    assert mirror["state"] == "resolved"
    assert count(conn, "SELECT count(*) FROM federation_inbox") == 3


def test_a_city_applies_the_provinces_acknowledgement_once(conn: Connection):
    raise_(conn, "p1", 0, severity="critical")
    alert_id = row(conn, "p1")["id"]
    ack = _delivery(
        9,
        5,
        acknowledged_at=at(20).isoformat(),
        acknowledged_by="gen-provincial",
        ack_comment="收到",
        origin_hub="jinan",
        origin_alert_id=alert_id,
    )
    got = federation.receive(
        conn,
        hub="province",
        key="6b0e8f1e-98b9-4d59-9d59-3f1b1f0d0a01",
        event="acknowledged",
        sent_at=None,
        payload=ack,
        now=at(21),
        role="city",
    )
    assert got.alert_id == alert_id
    view = dashboard.alert_by_id(conn, alert_id, None)
    assert view is not None
    assert (view.acknowledged_by, view.ack_comment) == ("province:gen-provincial", "收到")
    escalation.dispatch(conn, at(22), _decide)  # acknowledged by the province: not sent back there
    assert ("p1", "province", "acknowledged") not in queued(conn)


def test_a_missed_check_in_is_a_critical_alert_a_check_in_resolves(conn: Connection):
    from hub.alerts.duty import DeskStatus  # noqa: PLC0415

    missed = DeskStatus("jinan", on_duty=True, last=None, due_at=at(1800), missed=True)
    fine = DeskStatus("qingdao", on_duty=True, last=at(100), due_at=at(1900), missed=False)
    assert desk.sync_missed(conn, [missed, fine], at(2200)) == 1
    assert desk.sync_missed(conn, [missed], at(2201)) == 0  # one alert, not one per tick
    (fp, severity, site) = conn.execute("SELECT fingerprint, severity, site FROM alerts").fetchall()[0]
    assert (fp, severity, site) == ("duty_checkin_missed:jinan", "critical", desk.DESK_SITE)
    escalation.dispatch(conn, at(2201), _decide)
    assert ("duty_checkin_missed:jinan", "province", "escalated") in queued(conn)
    desk.check_in(conn, "jinan", by="gen-city-jinan", by_id=None, now=at(2300))
    assert row(conn, "duty_checkin_missed:jinan")["state"] == "resolved"
    assert desk.last_checkins(conn) == {"jinan": at(2300)}
