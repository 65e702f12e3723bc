"""A city hub and a province hub, end to end (real processes, their own databases, signed HTTP between them):

* a critical alert at the city reaches the province exactly once, though the province hub is down when it
  fires and restarted meanwhile (the city retries; a resend after a lost answer is recognised);
* an unacknowledged warning escalates after ``province_after_s`` (seconds here), not before;
* the province's acknowledgement shows at the city, naming who; the resolution reaches the province.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any

import psycopg
import pytest
from psycopg import sql
from two_hubs import HubProc, User, add_user, config_text, wait_for

from hub.config import load_config
from hub.rules.health import PROBE_PREFIX, hub_agent, probe_application_name
from hub.rules.health_runner import process_slug
from hub.stack import Stack
from hub.stack.process import free_port
from protocol.codec import encode
from protocol.messages import Birth, Death

PROVINCE_AFTER_S = 3.0
Publish = Callable[..., None]


@dataclass
class Pair:
    city: HubProc
    province: HubProc
    city_user: User
    provincial: User

    def city_rows(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.city.dsn, autocommit=True) as c:
            return c.execute(query, args).fetchall()

    def province_rows(self, query: str, *args: object) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.province.dsn, autocommit=True) as c:
            return c.execute(query, args).fetchall()


def _database(stack: Stack, tag: str) -> str:
    name = f"test_{tag}_{uuid.uuid4().hex}"
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def _drop(stack: Stack, name: str) -> None:
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def pair(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    work = tmp_path_factory.mktemp("two-hubs")
    (work / "jinan-province.key").write_text(f"generated-{uuid.uuid4().hex}\n")
    mqtt = (stack.info.mqtt_host, stack.info.mqtt_port)
    names = [_database(stack, "city"), _database(stack, "province")]
    city_port, province_port = free_port(), free_port()
    city_dsn, province_dsn = stack.admin_dsn(names[0]), stack.admin_dsn(names[1])
    city_extra = f"""
[escalation]
tick_s = 0.2
[escalation.warning]
province_after_s = {PROVINCE_AFTER_S}
renotify_every_s = 600.0
[escalation.critical]
province_after_s = 0.0
renotify_every_s = 600.0
[notify]
retry_initial_s = 0.3
retry_max_s = 1.0
[province]
url = "http://127.0.0.1:{province_port}"
key_file = "jinan-province.key"
timeout_s = 3.0
"""
    province_extra = f"""
[escalation]
tick_s = 0.2
[notify]
retry_initial_s = 0.3
retry_max_s = 1.0
[province.hubs.jinan]
key_file = "jinan-province.key"
url = "http://127.0.0.1:{city_port}"
"""
    (work / "city.toml").write_text(
        config_text(name="jinan", mqtt=mqtt, dsn=city_dsn, port=city_port, extra=city_extra)
    )
    (work / "province.toml").write_text(
        config_text(name="province", mqtt=mqtt, dsn=province_dsn, port=province_port, extra=province_extra)
    )
    city = HubProc("city", work / "city.toml", work / "city.log", f"http://127.0.0.1:{city_port}", "city", city_dsn)
    province = HubProc(
        "province",
        work / "province.toml",
        work / "province.log",
        f"http://127.0.0.1:{province_port}",
        "province",
        province_dsn,
    )
    codes: list[int] = []
    try:
        city.start()
        province.start()
        yield Pair(city, province, add_user(city_dsn, "city", "jinan"), add_user(province_dsn, "provincial"))
    finally:
        for hub in (city, province):
            hub.close_clients()
            codes.append(hub.stop())
            sys.stderr.write(f"--- {hub.name} hub log ({hub.log}) ---\n{hub.log_text()}\n")
        for name in names:
            _drop(stack, name)
    assert codes == [0, 0], f"a hub did not exit cleanly on SIGTERM: {codes}"


def agent_goes_offline(publish: Publish, reason: str) -> str:
    """A fresh agent is born and dies; returns its id (the alert is ``agent_offline:<id>``)."""
    agent = f"jinan/s{uuid.uuid4().hex[:6]}/a1"
    boot = uuid.uuid4().hex[:16]
    now = datetime.now(UTC)
    born = Birth(agent=agent, boot=boot, seq=0, ts=now, sw_version="0.1.0", started_at=now, heartbeat_s=5.0, devices=[])
    publish(f"sw/v1/{agent}/birth", encode(born))
    died = Death(agent=agent, boot=boot, seq=0, ts=datetime.now(UTC), reason=reason)  # type: ignore[arg-type]
    publish(f"sw/v1/{agent}/death", encode(died))
    return agent


def agent_comes_back(publish: Publish, agent: str) -> None:
    now = datetime.now(UTC)
    born = Birth(
        agent=agent,
        boot=uuid.uuid4().hex[:16],
        seq=0,
        ts=now,
        sw_version="0.1.0",
        started_at=now,
        heartbeat_s=5.0,
        devices=[],
    )
    publish(f"sw/v1/{agent}/birth", encode(born))


def city_alert(p: Pair, agent: str) -> tuple[int, str, datetime]:
    rows = wait_for(
        lambda: p.city_rows(
            "SELECT id, severity, fired_at FROM alerts WHERE fingerprint = %s", f"agent_offline:{agent}"
        ),
        15,
        f"the city's alert for {agent}",
    )
    alert_id, severity, fired_at = rows[0]
    return int(alert_id), str(severity), fired_at


def mirrors(p: Pair, city_alert_id: int) -> list[tuple[Any, ...]]:
    return p.province_rows(
        "SELECT id, severity, closed_at, acknowledged_at FROM alerts"
        " WHERE origin_hub = 'jinan' AND origin_alert_id = %s",
        city_alert_id,
    )


def test_a_critical_alert_reaches_the_province_exactly_once_across_a_restart(pair: Pair, mosquitto_pub: Publish):
    assert pair.province.stop() == 0
    agent = agent_goes_offline(mosquitto_pub, "will")
    alert_id, severity, _ = city_alert(pair, agent)
    assert severity == "critical"

    def retried() -> bool:
        rows = pair.city_rows(
            "SELECT attempts, delivered_at, last_error FROM notifications WHERE alert_id = %s AND target = 'province'",
            alert_id,
        )
        return bool(rows) and rows[0][0] >= 2 and rows[0][1] is None and bool(rows[0][2])

    wait_for(retried, 15, "the city retrying the province while it is down")
    pair.province.start()
    delivered = wait_for(
        lambda: pair.city_rows(
            "SELECT key, receipt FROM notifications WHERE alert_id = %s AND target = 'province'"
            " AND delivered_at IS NOT NULL",
            alert_id,
        ),
        20,
        "the delivery receipt",
    )
    key, receipt = delivered[0]
    assert receipt["duplicate"] is False
    (mirror,) = wait_for(lambda: mirrors(pair, alert_id), 5, "the province's mirror")
    assert mirror[1] == "critical"

    # The answer lost on the way back: the city sends the same delivery again; the province recognises it.
    pair.city_rows(
        "UPDATE notifications SET delivered_at = NULL, receipt = NULL, due_at = now()"
        " WHERE alert_id = %s AND target = 'province' RETURNING id",
        alert_id,
    )
    again = wait_for(
        lambda: pair.city_rows(
            "SELECT receipt FROM notifications WHERE alert_id = %s AND target = 'province'"
            " AND delivered_at IS NOT NULL",
            alert_id,
        ),
        20,
        "the second receipt",
    )
    assert again[0][0]["duplicate"] is True
    assert again[0][0]["receipt"] == receipt["receipt"]
    assert len(mirrors(pair, alert_id)) == 1
    inbox = pair.province_rows("SELECT count(*), count(DISTINCT key) FROM federation_inbox WHERE key = %s", key)
    assert inbox == [(1, 1)]
    escalated = pair.province_rows(
        "SELECT count(*) FROM federation_inbox WHERE event = 'escalated' AND (payload->'alert'->>'id')::bigint = %s",
        alert_id,
    )
    assert escalated == [(1,)]

    # The province's dashboard shows it like any alert of its own.
    with pair.province.signed_in(pair.provincial) as c:
        shown = [a for a in c.get("/api/v1/alerts").json()["alerts"] if a["agent_id"] == agent]
    assert [(a["kind"], a["severity"], a["city"]) for a in shown] == [("agent_offline", "critical", "jinan")]


def test_an_unacknowledged_warning_escalates_after_n_seconds_and_the_provinces_ack_shows_at_the_city(
    pair: Pair, mosquitto_pub: Publish
):
    agent = agent_goes_offline(mosquitto_pub, "shutdown")
    alert_id, severity, fired_at = city_alert(pair, agent)
    assert severity == "warning"
    (mirror,) = wait_for(lambda: mirrors(pair, alert_id), PROVINCE_AFTER_S + 15, "the escalated warning")
    (received_at,) = pair.province_rows(
        "SELECT received_at FROM federation_inbox WHERE event = 'escalated' AND (payload->'alert'->>'id')::bigint = %s",
        alert_id,
    )[0]
    waited = (received_at - fired_at).total_seconds()
    assert waited >= PROVINCE_AFTER_S, f"escalated after {waited:.2f} s, before {PROVINCE_AFTER_S} s unacknowledged"

    # The province acknowledges; the city shows who did.
    with pair.province.signed_in(pair.provincial) as c:
        r = c.post(f"/api/v1/alerts/{mirror[0]}/acknowledge", json={"comment": "省中心已电话联系考点"})
        assert r.status_code == 200, r.text
    expected_by = f"province:{pair.provincial.username}"
    with pair.city.signed_in(pair.city_user) as c:
        shown = wait_for(
            lambda: (a := c.get(f"/api/v1/alerts/{alert_id}").json())["acknowledged_by"] and a,
            15,
            "the province's acknowledgement at the city",
        )
        assert (shown["acknowledged_by"], shown["ack_comment"]) == (expected_by, "省中心已电话联系考点")
    # ... and is not sent back to the province as if the city had acknowledged it.
    assert pair.city_rows(
        "SELECT count(*) FROM notifications WHERE alert_id = %s AND event = 'acknowledged'", alert_id
    ) == [(0,)]

    # The agent comes back: the resolution reaches the province too.
    agent_comes_back(mosquitto_pub, agent)
    wait_for(lambda: mirrors(pair, alert_id)[0][2] is not None, 15, "the resolution at the province")


def test_a_warning_acknowledged_in_time_never_reaches_the_province(pair: Pair, mosquitto_pub: Publish):
    agent = agent_goes_offline(mosquitto_pub, "shutdown")
    alert_id, _, _ = city_alert(pair, agent)
    with pair.city.signed_in(pair.city_user) as c:
        r = c.post(f"/api/v1/alerts/{alert_id}/acknowledge", json={"comment": "考点重启代理, 已知"})
        assert r.status_code == 200, r.text
        deliveries = c.get(f"/api/v1/alerts/{alert_id}/deliveries")
        assert deliveries.status_code == 200
    # Well past the escalation deadline: still nothing for the province.
    wait_for(
        lambda: pair.city_rows("SELECT dispatched_version = version FROM alerts WHERE id = %s", alert_id)[0][0],
        10,
        "the acknowledgement dispatched",
    )
    time.sleep(PROVINCE_AFTER_S + 1.0)
    assert pair.city_rows(
        "SELECT count(*) FROM notifications WHERE alert_id = %s AND target = 'province'", alert_id
    ) == [(0,)]
    assert mirrors(pair, alert_id) == []


def test_an_unsigned_or_forged_escalation_is_refused(pair: Pair):
    body = b'{"v":1}'
    with pair.province.signed_in(pair.provincial) as c:
        unsigned = c.post("/federation/v1/escalations", content=body, headers={"Content-Type": "application/json"})
        forged = c.post(
            "/federation/v1/escalations",
            content=body,
            headers={
                "Content-Type": "application/json",
                "X-SiteWatch-Hub": "jinan",
                "X-SiteWatch-Timestamp": "1",
                "X-SiteWatch-Signature": "v1=00",
                "Idempotency-Key": str(uuid.uuid4()),
            },
        )
    assert (unsigned.status_code, unsigned.json()["detail"]) == (401, "federation.unknown_hub")
    assert (forged.status_code, forged.json()["detail"]) == (401, "federation.bad_signature")


def test_the_city_refuses_escalations_it_is_not_the_province_for(pair: Pair):
    with pair.city.signed_in(pair.city_user) as c:
        r = c.post("/federation/v1/escalations", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 404


def test_the_city_desk_checks_in_and_silences_within_its_city(pair: Pair):
    with pair.city.signed_in(pair.city_user) as c:
        r = c.post("/api/v1/duty/check-in", json={"comment": "值班员已到岗"})
        assert r.status_code == 200, r.text
        assert r.json()["city"] == "jinan"
        (desk,) = c.get("/api/v1/duty").json()["desks"]
        assert desk["city"] == "jinan"
        assert desk["last_check_in"] is not None
        made = c.post("/api/v1/silences", json={"matchers": {"kind": "jammer_off"}, "minutes": 30, "reason": "drill"})
        assert made.status_code == 200, made.text
        silence = made.json()
        assert silence["matchers"] == {"kind": "jammer_off", "city": "jinan"}  # confined to the desk's city
        assert silence["created_by"] == pair.city_user.username
        other = c.post("/api/v1/silences", json={"matchers": {"city": "qingdao"}, "minutes": 5, "reason": "x"})
        assert other.status_code == 404
        bad = c.post("/api/v1/silences", json={"matchers": {"room": "101"}, "minutes": 5, "reason": "x"})
        assert bad.status_code == 422
        ended = c.post(f"/api/v1/silences/{silence['id']}/expire", json={})
        assert ended.status_code == 200
        assert ended.json()["active"] is False
        assert c.get("/api/v1/silences").json()["silences"] == []
    actions = [r[0] for r in pair.city_rows("SELECT action FROM audit_log ORDER BY id")]
    assert {"duty.check_in", "silence.create", "silence.expire", "config.loaded"} <= set(actions)


def test_each_hub_process_shows_in_its_database_by_its_monitors_connection(pair: Pair):
    """What the leading hub goes by to tell that a process is gone (rules/health.gone_processes)."""
    query = (
        "SELECT application_name FROM pg_stat_activity"
        " WHERE datname = current_database() AND starts_with(application_name, %s)"
    )

    def monitors(rows: Callable[..., list[tuple[Any, ...]]]) -> set[str]:
        return {n for (n,) in rows(query, PROBE_PREFIX)}

    for hub_proc, rows in ((pair.city, pair.city_rows), (pair.province, pair.province_rows)):
        config = load_config(hub_proc.config)
        expected = {probe_application_name(hub_agent(config.hub.name, process_slug(config.mqtt.client_id)))}
        seen = wait_for(partial(monitors, rows), 10, f"{hub_proc.name}'s monitor connection")
        assert seen == expected
