"""Deliveries to the provincial center failing: a real city hub escalates a critical alert while the
province hub is down; after ``after_minutes`` the city desk gets a hub-health alert, which clears once the
province hub is up and the delivery goes through."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg import sql
from two_hubs import HubProc, User, add_user, config_text, wait_for

from hub.stack import Stack
from hub.stack.process import free_port
from protocol.codec import encode
from protocol.messages import Birth, Death

Publish = Callable[[str, bytes], None]
AFTER_S = 3.0


@pytest.fixture
def hubs(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[HubProc, HubProc, User]]:
    work = tmp_path_factory.mktemp("province-health")
    (work / "jinan-province.key").write_text(f"generated-{uuid.uuid4().hex}\n")
    mqtt = (stack.info.mqtt_host, stack.info.mqtt_port)
    names = [f"test_health_{role}_{uuid.uuid4().hex[:10]}" for role in ("city", "province")]
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
        for name in names:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    city_port, province_port = free_port(), free_port()
    city_dsn, province_dsn = stack.admin_dsn(names[0]), stack.admin_dsn(names[1])
    city_extra = f"""
[rules]
tick_s = 0.2
settle_s = 0.0
[rules.health]
clear_after_s = 1.0
[rules.health.province_delivery]
after_minutes = {AFTER_S / 60}
[escalation]
tick_s = 0.2
[notify]
retry_initial_s = 0.3
retry_max_s = 1.0
[province]
url = "http://127.0.0.1:{province_port}"
key_file = "jinan-province.key"
timeout_s = 3.0
"""
    province_extra = f"""
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
        "province", work / "province.toml", work / "province.log", f"http://127.0.0.1:{province_port}", "province",
        province_dsn,
    )  # fmt: skip
    codes: list[int] = []
    try:
        city.start()
        yield city, province, add_user(city_dsn, "city", "jinan")
    finally:
        for hub in (city, province):
            hub.close_clients()
            codes.append(hub.stop())
            sys.stderr.write(f"--- {hub.name} hub log ({hub.log}) ---\n{hub.log_text()}\n")
        with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
            for name in names:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    assert codes == [0, 0], f"a hub did not exit cleanly on SIGTERM: {codes}"


def agent_dies(publish: Publish) -> str:
    agent = f"jinan/s{uuid.uuid4().hex[:6]}/a1"
    boot = uuid.uuid4().hex[:16]
    now = datetime.now(UTC)
    born = Birth(agent=agent, boot=boot, seq=0, ts=now, sw_version="0.1.0", started_at=now, heartbeat_s=5.0, devices=[])
    publish(f"sw/v1/{agent}/birth", encode(born))
    died = Death(agent=agent, boot=boot, seq=0, ts=datetime.now(UTC), reason="will")
    publish(f"sw/v1/{agent}/death", encode(died))
    return agent


def test_province_delivery_failing_alerts_the_city_desk_then_clears(
    hubs: tuple[HubProc, HubProc, User], mosquitto_pub: Publish
) -> None:
    city, province, officer = hubs
    desk = city.signed_in(officer)

    def hub_alerts(state: str = "open") -> list[dict[str, Any]]:
        r = desk.get("/api/v1/alerts", params={"state": state, "city": "jinan", "site": "hub"})
        assert r.status_code == 200, r.text
        return [a for a in r.json()["alerts"] if a["kind"] == "hub.province_delivery"]

    escalated_at = datetime.now(UTC)
    agent_dies(mosquitto_pub)  # critical: to the province at once, which is down
    (alert,) = wait_for(hub_alerts, 20, "the province delivery alert at the city desk")
    raised_after = (datetime.now(UTC) - escalated_at).total_seconds()
    assert raised_after >= AFTER_S, f"raised after {raised_after:.1f} s, before after_minutes"
    assert alert["severity"] == "warning"
    assert alert["details"]["failing"] >= 1
    assert alert["details"]["attempts"] >= 2
    assert "provincial center" in alert["summary"]
    assert alert["details"]["error"], "the last delivery error is named"

    province.start()
    wait_for(lambda: not hub_alerts(), 30, "the alert cleared once the province receives")
    (closed,) = hub_alerts("all")
    assert closed["id"] == alert["id"]
    assert closed["open"] is False


PROVINCE_MONITOR = """
[rules.health]
clear_after_s = 1.0
[rules.health.database]
for_s = 1.0
probe_s = 0.2
"""


def test_the_province_hub_watches_its_own_database(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No agents, no rules engine, but the same monitor as a city hub: its database stopped shows on
    /healthz at once and is on record (opened when it began) once the database is back."""
    work = tmp_path_factory.mktemp("province-monitor")
    name = f"test_province_monitor_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    dsn, port = stack.admin_dsn(name), free_port()
    mqtt = (stack.info.mqtt_host, stack.info.mqtt_port)
    (work / "province.toml").write_text(
        config_text(name="province", mqtt=mqtt, dsn=dsn, port=port, extra=PROVINCE_MONITOR)
    )
    province = HubProc(
        "province", work / "province.toml", work / "province.log", f"http://127.0.0.1:{port}", "province", dsn
    )
    officer = add_user(dsn, "provincial")
    code = None
    try:
        province.start()
        desk = province.signed_in(officer)

        def held() -> dict[str, dict[str, Any]]:
            return {a["kind"]: a for a in desk.get("/healthz").json().get("hub_alerts", [])}

        def stored() -> list[dict[str, Any]]:
            r = desk.get("/api/v1/alerts", params={"state": "all", "city": "province", "site": "hub"})
            return [a for a in r.json()["alerts"] if a["kind"] == "hub.database_unreachable"] if r.is_success else []

        assert held() == {}
        stopped_at = datetime.now(UTC)
        stack.stop_postgres()
        try:
            during = wait_for(lambda: held().get("hub.database_unreachable"), 20, "the alert on /healthz", 0.2)
            assert desk.get("/healthz").status_code == 503
            assert during["severity"] == "critical"
            assert during["stored"] is False
            assert "province" in during["summary"]
        finally:
            stack.start_postgres()
        restarted_at = datetime.now(UTC)
        (alert,) = wait_for(stored, 30, "the alert stored once the database is back", 0.3)
        assert stopped_at - timedelta(seconds=1) <= datetime.fromisoformat(alert["opened_at"]) <= restarted_at
        wait_for(lambda: all(not a["open"] for a in stored()), 20, "the alert closed")
        wait_for(lambda: held() == {}, 10, "nothing held on /healthz")
    finally:
        province.close_clients()
        code = province.stop()
        sys.stderr.write(f"--- province hub log ({province.log}) ---\n{province.log_text()}\n")
        with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    assert code == 0, f"the province hub did not exit cleanly on SIGTERM: {code}"
