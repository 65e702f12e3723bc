"""The rules engine end to end: a real broker, a real PostgreSQL, a real hub process, and agent messages
built from the protocol models.  Hysteresis is configured short (``rules_harness.FAST_RULES``); the
time limits asserted are those settings plus a margin for delivery and the 0.2 s tick, not performance
goals.  Latencies are printed (run with ``-s``) for the issue's closing note.
"""

from __future__ import annotations

import hashlib
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from rules_harness import (
    FAST_RULES,
    JAMMER_OFF,
    JAMMER_ON,
    PROBE_SIGNAL,
    PROBE_SUPPRESSED,
    READER_ABSENT,
    READER_READY,
    FakeAgent,
    RulesHub,
    add_user,
    calendar_toml,
    camera,
    unique_site,
    wait_for,
)

from hub.store import connect
from hub.store.queries import list_quarantine
from protocol.codec import encode
from protocol.messages import DeviceInfo, Heartbeat, Scalar

pytestmark = pytest.mark.integration

StartHub = Callable[..., RulesHub]
MakeAgent = Callable[[str, list[DeviceInfo]], FakeAgent]
MARGIN_S = 8.0  # delivery, batching, ticks, the API poll — on a loaded 2-core machine


def dev(kind: str, device_id: str, room: str) -> DeviceInfo:
    return DeviceInfo(kind=kind, id=device_id, driver="gen-sim", room=room)  # type: ignore[arg-type]


def whole_seconds(at: datetime) -> datetime:
    return at.replace(microsecond=0)


def sleep_until(at: datetime) -> None:
    time.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))


def known_to_hub(hub: RulesHub, agent: FakeAgent, devices: int) -> None:
    city, site = agent.site.split("/")

    def seen() -> bool:
        r = hub.client.get(f"/api/v1/sites/{city}/{site}")
        return r.status_code == 200 and sum(len(a["devices"]) for a in r.json()["agents"]) == devices

    wait_for(seen, 10, f"{agent.agent_id}'s devices at the hub")


def imported(hub: RulesHub, text: str, workdir: Path) -> None:
    done = hub.import_calendar(text, workdir)
    assert done.returncode == 0, done.stderr + done.stdout


def report(name: str, seconds: float) -> None:
    sys.stderr.write(f"LATENCY {name}: {seconds:.2f} s\n")


def jammer_alerts(hub: RulesHub, site: str) -> list[dict[str, Any]]:
    return [a for a in hub.open_alerts(site) if a["kind"].startswith("jammer.")]


def test_jammer_must_follow_the_calendar(rules_hub: StartHub, fake_agent: MakeAgent, tmp_path: Path) -> None:
    hub = rules_hub()
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent = fake_agent(f"{site}/a1", [dev("jammer", "jammer-101", "101"), dev("probe", "probe-101", "101")])
    agent.birth()
    agent.heartbeat()
    agent.state(jammer_101=JAMMER_OFF, probe_101=PROBE_SIGNAL)
    known_to_hub(hub, agent, 2)
    now = datetime.now(UTC)
    start = whole_seconds(now + timedelta(seconds=10))  # the import (a CLI process) must be done by then
    end = start + timedelta(seconds=12)
    session = {"id": "gen-jam", "start": start, "end": end, "rooms": [f"{site}/101"]}
    cal = calendar_toml([session], [city], now, jammer_on_before_minutes=0, jammer_off_after_minutes=0)
    imported(hub, cal, tmp_path)
    critical_after = FAST_RULES["critical_after_s"]

    # Off before the sitting is what the calendar requires: nothing is raised.
    sleep_until(start - timedelta(seconds=0.5))
    assert hub.alerts(site, "jammer.band_off") == []
    # The sitting starts with the jammer off: critical, per band, naming the room.
    raised = wait_for(lambda: hub.open_alerts(site, "jammer.band_off"), critical_after + MARGIN_S, "band_off alerts")
    after_start = (datetime.now(UTC) - start).total_seconds()
    report(f"session start → band_off visible (critical_after_s={critical_after})", after_start)
    assert after_start <= critical_after + MARGIN_S
    assert {a["severity"] for a in raised} == {"critical"}
    assert {a["details"]["band"] for a in wait_for(lambda: len(hub.open_alerts(site, "jammer.band_off")) == 2 and
                                                   hub.open_alerts(site, "jammer.band_off"), 3, "both bands")} == {
        "gsm", "lte"}  # fmt: skip
    assert all("room 101" in a["summary"] and a["device_id"] == "jammer-101" for a in raised)

    # Switched on, and the probe in the room sees no network: cleared.
    agent.state(jammer_101=JAMMER_ON, probe_101=PROBE_SUPPRESSED)
    wait_for(lambda: not jammer_alerts(hub, site), FAST_RULES["clear_after_s"] + MARGIN_S, "the jammer alerts to clear")

    # A required-state violation from the agent's publish to the dashboard's API.
    published = agent.state(jammer_101=JAMMER_OFF)
    wait_for(lambda: hub.open_alerts(site, "jammer.band_off"), critical_after + MARGIN_S, "band_off again")
    latency = (datetime.now(UTC) - published).total_seconds()
    report(f"publish → band_off in /api/v1/alerts (critical_after_s={critical_after})", latency)
    report("  of which pipeline (delivery, store, tick, API)", latency - critical_after)
    agent.state(jammer_101=JAMMER_ON)
    wait_for(lambda: not hub.open_alerts(site, "jammer.band_off"), FAST_RULES["clear_after_s"] + MARGIN_S, "clear")

    # Left on after the sitting: a warning (it disturbs other radio services).
    sleep_until(end)
    warned = wait_for(
        lambda: hub.open_alerts(site, "jammer.on_outside_session"),
        FAST_RULES["warning_after_s"] + MARGIN_S,
        "the jammer-left-on warning",
    )
    assert [a["severity"] for a in warned] == ["warning"]
    assert hub.open_alerts(site, "jammer.band_off") == []


def gonogo_row(hub: RulesHub, site: str) -> dict[str, Any] | None:
    r = hub.client.get("/api/v1/gonogo")
    assert r.status_code == 200, r.text
    return next((s for s in r.json()["sites"] if s["site_id"] == site), None)


def test_gonogo_red_for_a_missing_reader_then_green(rules_hub: StartHub, fake_agent: MakeAgent, tmp_path: Path) -> None:
    hub = rules_hub()
    city, slug = unique_site()
    site = f"{city}/{slug}"
    devices = [dev("camera", "vault-cam-1", "vault"), dev("jammer", "jammer-101", "101"),
               dev("probe", "probe-101", "101"), dev("idcard", "reader-101", "101")]  # fmt: skip
    agent = fake_agent(f"{site}/a1", devices)
    agent.birth()
    agent.heartbeat()
    agent.state(vault_cam_1=camera(0), jammer_101=JAMMER_OFF, probe_101=PROBE_SIGNAL, reader_101=READER_ABSENT)
    known_to_hub(hub, agent, 4)
    now = datetime.now(UTC)
    session = {"id": "gen-gng", "start": whole_seconds(now + timedelta(minutes=20)),
               "end": whole_seconds(now + timedelta(minutes=80)), "rooms": [f"{site}/101"]}  # fmt: skip
    imported(hub, calendar_toml([session], [city], now), tmp_path)

    red = wait_for(lambda: (g := gonogo_row(hub, site)) and g["verdict"] == "no_go" and g, MARGIN_S, "a no-go")
    assert red["session"] == "gen-gng"
    failed = {c["name"] for c in red["checks"] if not c["ok"]}
    assert failed == {"readers"}, red
    assert any("reader-101" in r for r in red["reasons"])
    [alert] = wait_for(lambda: hub.open_alerts(site, "gonogo"), MARGIN_S, "the no-go alert")
    assert alert["severity"] == "critical"
    assert "reader-101" in alert["summary"]

    agent.heartbeat()
    agent.state(reader_101=READER_READY)
    green = wait_for(
        lambda: (g := gonogo_row(hub, site)) and g["verdict"] == "go" and g,
        FAST_RULES["gonogo_recheck_s"] + MARGIN_S,
        "green once the reader is plugged in",
    )
    assert green["reasons"] == []
    wait_for(lambda: not hub.open_alerts(site, "gonogo"), MARGIN_S, "the no-go alert to close")

    # On demand from the dashboard (a POST with the CSRF token), still green, and recorded as asked.
    r = hub.client.post(f"/api/v1/gonogo/{city}/{slug}/run", json={})
    assert r.status_code == 200, r.text
    assert (r.json()["verdict"], r.json()["trigger"]) == ("go", "demand")
    token = hub.client.headers.pop("X-CSRF-Token")
    try:
        assert hub.client.post(f"/api/v1/gonogo/{city}/{slug}/run", json={}).status_code == 403
    finally:
        hub.client.headers["X-CSRF-Token"] = token


def test_two_person_rule(rules_hub: StartHub, fake_agent: MakeAgent, tmp_path: Path) -> None:
    hub = rules_hub()
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent = fake_agent(f"{site}/a1", [dev("camera", "vault-cam-1", "vault")])
    agent.birth()
    agent.state(vault_cam_1=camera(0))
    known_to_hub(hub, agent, 1)
    now = datetime.now(UTC)
    # Papers in custody; a session 30 min ahead makes this the hand-out window (people may be inside).
    session = {"id": "gen-vault", "start": whole_seconds(now + timedelta(minutes=30)),
               "end": whole_seconds(now + timedelta(minutes=90)), "rooms": [f"{site}/*"]}  # fmt: skip
    imported(hub, calendar_toml([session], [city], now), tmp_path)
    alone_after = FAST_RULES["vault_alone_after_s"]
    time.sleep(1.0)  # the calendar is in force

    # One person alone for longer than the limit: one critical alert, not one per tick.
    began = agent.state(vault_cam_1=camera(1))
    [alert] = wait_for(lambda: hub.alerts(site, "vault.alone"), alone_after + MARGIN_S, "the alone alert")
    report(f"alone → alert visible (vault_alone_after_s={alone_after})", (datetime.now(UTC) - began).total_seconds())
    assert alert["severity"] == "critical"
    assert alert["details"]["people"] == 1
    assert alert["device_id"] == "vault-cam-1"
    time.sleep(2.0)  # still alone, many ticks later
    assert len(hub.alerts(site, "vault.alone")) == 1

    # Two people: the alert clears and nothing new is raised.
    agent.state(vault_cam_1=camera(2))
    wait_for(lambda: not hub.open_alerts(site, "vault.alone"), FAST_RULES["vault_clear_after_s"] + MARGIN_S, "clear")
    time.sleep(alone_after + 1.0)
    assert len(hub.alerts(site, "vault.alone")) == 1

    # A pass-through shorter than the limit raises nothing.
    agent.state(vault_cam_1=camera(1))
    time.sleep(alone_after / 3)
    agent.state(vault_cam_1=camera(0))
    time.sleep(alone_after + 1.0)
    assert len(hub.alerts(site, "vault.alone")) == 1
    assert hub.alerts(site, "vault.outside_window") == []


def test_reader_missing_is_critical_in_the_checkin_window(
    rules_hub: StartHub, fake_agent: MakeAgent, tmp_path: Path
) -> None:
    hub = rules_hub()
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent = fake_agent(f"{site}/a1", [dev("idcard", "reader-101", "101")])
    agent.birth()
    agent.state(reader_101=READER_ABSENT)
    known_to_hub(hub, agent, 1)
    now = datetime.now(UTC)
    opens = whole_seconds(now + timedelta(seconds=10))
    session = {"id": "gen-rdr", "start": opens, "end": opens + timedelta(hours=1), "rooms": [f"{site}/101"]}
    imported(hub, calendar_toml([session], [city], now), tmp_path)

    # Before check-in opens a missing reader is a warning ...
    [early] = wait_for(lambda: hub.open_alerts(site, "idcard.reader_missing"), MARGIN_S, "a warning")
    assert early["severity"] == "warning"
    # ... raised in place to critical when the gates open.
    sleep_until(opens)
    raised = wait_for(
        lambda: [a for a in hub.open_alerts(site, "idcard.reader_missing") if a["severity"] == "critical"],
        FAST_RULES["critical_after_s"] + MARGIN_S,
        "the warning to become critical",
    )
    assert [a["id"] for a in raised] == [early["id"]]

    agent.state(reader_101=READER_READY)
    wait_for(
        lambda: not hub.open_alerts(site, "idcard.reader_missing"), FAST_RULES["clear_after_s"] + MARGIN_S, "cleared"
    )

    # Pulled out during check-in: critical at the hub.
    pulled = agent.state(reader_101=READER_ABSENT)
    [missing] = wait_for(
        lambda: hub.open_alerts(site, "idcard.reader_missing"), FAST_RULES["critical_after_s"] + MARGIN_S, "missing"
    )
    report("reader pulled → reader_missing visible", (datetime.now(UTC) - pulled).total_seconds())
    assert missing["severity"] == "critical"
    assert missing["device_id"] == "reader-101"


def checkin(room: str, candidate: str, masked: str) -> dict[str, Scalar]:
    return {"room": room, "reader": f"gen-sam-{room}", "result": "ok", "code": "90", "card_valid": True,
            "expired": False, "long_term": False, "number_ok": True, "candidate": candidate, "masked": masked,
            "registered": None, "read_ms": 420}  # fmt: skip


def test_same_candidate_in_two_rooms_is_an_alert(rules_hub: StartHub, fake_agent: MakeAgent, tmp_path: Path) -> None:
    hub = rules_hub()
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent = fake_agent(f"{site}/a1", [dev("idcard", "reader-101", "101"), dev("idcard", "reader-102", "102")])
    agent.birth()
    agent.state(reader_101=READER_READY, reader_102=READER_READY)
    known_to_hub(hub, agent, 2)
    now = datetime.now(UTC)
    session = {"id": "gen-dup", "start": whole_seconds(now + timedelta(minutes=10)),
               "end": whole_seconds(now + timedelta(minutes=70)), "checkin_minutes": 30,
               "rooms": [f"{site}/101", f"{site}/102"]}  # fmt: skip
    imported(hub, calendar_toml([session], [city], now), tmp_path)
    time.sleep(1.0)

    # Generated candidates: HMACs of random bytes, masked numbers of nobody.
    twice = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    once = hashlib.sha256(uuid.uuid4().bytes).hexdigest()
    agent.event("idcard.checkin", "reader-101", checkin("101", twice, "00**********0001"))
    agent.event("idcard.checkin", "reader-101", checkin("101", once, "00**********0002"))
    agent.event("idcard.checkin", "reader-101", checkin("101", once, "00**********0002"))  # same room: fine
    sent = agent.event("idcard.checkin", "reader-102", checkin("102", twice, "00**********0001"))
    [alert] = wait_for(lambda: hub.alerts(site, "idcard.duplicate_checkin"), MARGIN_S, "the duplicate alert")
    report("second check-in → duplicate alert visible", (datetime.now(UTC) - sent).total_seconds())
    assert alert["severity"] == "critical"
    assert "00**********0001" in alert["summary"]
    assert "room 101" in alert["summary"]
    assert "room 102" in alert["summary"]
    assert alert["details"]["session"] == "gen-dup"
    time.sleep(1.0)
    assert len(hub.alerts(site, "idcard.duplicate_checkin")) == 1


def test_payload_naming_another_agent_is_quarantined_and_alerted(
    rules_hub: StartHub, fake_agent: MakeAgent, pg_dsn: str
) -> None:
    hub = rules_hub()
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent = fake_agent(f"{site}/a1", [])
    agent.birth()
    forged = Heartbeat(agent=f"{site}/a2", boot=agent.boot, seq=7, ts=datetime.now(UTC), uptime_s=1.0)
    sent = datetime.now(UTC)
    agent.publish_raw(f"sw/v1/{agent.agent_id}/heartbeat", encode(forged))
    [alert] = wait_for(lambda: hub.alerts(site, "security.identity_mismatch"), MARGIN_S, "the security alert")
    report("forged message → security alert visible", (datetime.now(UTC) - sent).total_seconds())
    assert alert["severity"] == "critical"
    assert alert["agent_id"] == agent.agent_id
    assert alert["details"]["claimed_agent"] == f"{site}/a2"
    conn = connect(pg_dsn, "rules-tests")
    try:
        codes = [q.error_code for q in list_quarantine(conn) if q.topic == f"sw/v1/{agent.agent_id}/heartbeat"]
    finally:
        conn.close()
    assert codes == ["identity_mismatch"]


def test_arrival_report_opens_vault_custody(
    rules_hub: StartHub, fake_agent: MakeAgent, tmp_path: Path, pg_dsn: str
) -> None:
    hub = rules_hub()
    city, slug = unique_site()
    site = f"{city}/{slug}"
    agent = fake_agent(f"{site}/a1", [dev("camera", "vault-cam-1", "vault")])
    agent.birth()
    agent.state(vault_cam_1=camera(1))
    known_to_hub(hub, agent, 1)
    now = datetime.now(UTC)
    session = {"id": "gen-arr", "start": whole_seconds(now + timedelta(hours=2)),
               "end": whole_seconds(now + timedelta(hours=2, minutes=30)), "rooms": [f"{site}/*"]}  # fmt: skip
    imported(hub, calendar_toml([session], [city], now, arrival_due=timedelta(hours=1)), tmp_path)
    body = hub.client.get("/api/v1/calendar").json()
    assert [s["id"] for s in body["sessions"]] == ["gen-arr"]
    assert [(c["city"], c["sites"]) for c in body["custody"]] == [(city, [site])]
    # Papers not in the vault yet: one person in it is nobody's business.
    time.sleep(FAST_RULES["vault_alone_after_s"] + 1.0)
    assert hub.alerts(site, "vault.alone") == []

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    refused = hub.client.post(f"/api/v1/sites/{city}/{slug}/arrival", json={"arrived_at": future})
    assert (refused.status_code, refused.json()["detail"]) == (422, "arrival.future")
    other = f"gen-city-{uuid.uuid4().hex[:6]}"
    add_user(pg_dsn, other, "pw-generated-city-0001", city="zz-other")
    with httpx.Client(base_url=hub.url, timeout=10) as stranger:
        signed = stranger.post("/api/v1/session", json={"username": other, "password": "pw-generated-city-0001"})
        stranger.headers["X-CSRF-Token"] = signed.json()["csrf_token"]
        assert stranger.post(f"/api/v1/sites/{city}/{slug}/arrival", json={}).status_code == 404
        assert stranger.get("/api/v1/calendar").json()["sessions"] == []
        assert stranger.post(f"/api/v1/gonogo/{city}/{slug}/run", json={}).status_code == 404

    # The papers arrive (the duty desk's button, or the API): custody opens, the two-person rule applies.
    r = hub.client.post(f"/api/v1/sites/{city}/{slug}/arrival", json={"comment": "generated test arrival"})
    assert r.status_code == 201, r.text
    assert r.json()["site_id"] == site
    [alert] = wait_for(
        lambda: hub.alerts(site, "vault.alone"), FAST_RULES["vault_alone_after_s"] + MARGIN_S, "alone in custody"
    )
    assert alert["severity"] == "critical"
    arrivals = hub.client.get("/api/v1/calendar").json()["arrivals"]
    assert [(a["site_id"], a["comment"]) for a in arrivals] == [(site, "generated test arrival")]
