"""The dashboard in real headless Chromium (Debian's, driven by Playwright) against a real hub.

Screenshots go to tests/artifacts/ (gitignored): overview.png, site.png, wall.png.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from web_harness import Agent, Deployment, _spawn, _wait_healthy, publish, wait_for

from hub.calendar import EXAM_TZ, parse_calendar
from hub.rules import health
from hub.rules.changes import CloseAlert, OpenAlert
from hub.rules.health_config import HealthSection
from hub.store import Accepted, Database, connect
from hub.store.calendar import store_calendar
from hub.store.rules_input import apply_changes
from protocol.messages import Birth, DeviceInfo, DeviceState, State

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 10_000

if shutil.which(CHROMIUM) is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser: object, deployment: Deployment) -> Iterator[object]:
    context = browser.new_context(
        base_url=deployment.hub.url, viewport={"width": 1440, "height": 900}, locale="zh-CN", bypass_csp=True
    )  # type: ignore[attr-defined]
    context.set_default_timeout(TIMEOUT_MS)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        yield pg
    finally:
        context.close()
    assert not problems, f"script errors on the page: {problems}"


def sign_in(page: object, deployment: Deployment, who: str, path: str = "/") -> None:
    user = deployment.users[who]
    page.goto(path)  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: urlsplit(url).path == "/sign-in")  # type: ignore[attr-defined]
    page.fill("#username", user.username)  # type: ignore[attr-defined]
    page.fill("#password", user.password)  # type: ignore[attr-defined]
    page.click("#sign-in")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: urlsplit(url).path == path)  # type: ignore[attr-defined]
    settled(page)


def settled(page: object) -> None:
    """Live stream up and the page refreshed after its hello (so nothing redraws under the next click)."""
    page.wait_for_selector("#live[data-state=on]")  # type: ignore[attr-defined]
    page.wait_for_function("Number(document.body.dataset.refreshes ?? 0) >= 2")  # type: ignore[attr-defined]


def test_sign_in_overview_and_site(page: object, deployment: Deployment, artifacts: Path):
    page.goto("/")  # type: ignore[attr-defined]
    page.wait_for_selector("#sign-in")  # type: ignore[attr-defined]
    assert page.locator("h1").inner_text() == "登录考点设备值守平台"  # type: ignore[attr-defined]
    page.fill("#username", deployment.users["provincial"].username)  # type: ignore[attr-defined]
    page.fill("#password", "wrong-password-x")  # type: ignore[attr-defined]
    page.click("#sign-in")  # type: ignore[attr-defined]
    page.wait_for_selector("#sign-in-error:has-text('用户名或密码错误')")  # type: ignore[attr-defined]
    sign_in(page, deployment, "provincial")
    page.wait_for_selector("[data-city=jinan] .tile")  # type: ignore[attr-defined]
    names = page.locator(".city h2 .name").all_inner_texts()  # type: ignore[attr-defined]
    assert names == ["济南", "青岛"]
    assert page.get_attribute("[data-site='jinan/s02']", "data-status") == "offline"  # type: ignore[attr-defined]
    assert page.get_attribute("[data-site='jinan/s01']", "data-status") == "warning"  # type: ignore[attr-defined]
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)  # type: ignore[attr-defined]

    page.click("[data-site='jinan/s01']")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: urlsplit(url).path == "/sites/jinan/s01")  # type: ignore[attr-defined]
    page.wait_for_selector(".camera[data-device=vault-cam-1]")  # type: ignore[attr-defined]
    assert "暂无快照" in page.locator(".camera").inner_text()  # type: ignore[attr-defined]
    rooms = page.locator("tr[data-room]").all_inner_texts()  # type: ignore[attr-defined]
    assert [r.split()[0] for r in rooms] == ["101", "102"]
    assert page.get_attribute("[data-device=jammer-102]", "data-status") == "warning"  # type: ignore[attr-defined]
    assert page.locator("text=vault.entry").count() >= 1  # type: ignore[attr-defined]
    page.screenshot(path=str(artifacts / "site.png"), full_page=True)  # type: ignore[attr-defined]


def test_acknowledge_an_alert_with_a_comment(page: object, deployment: Deployment):
    sign_in(page, deployment, "city", "/alerts")
    row = page.locator("tr[data-alert]")  # type: ignore[attr-defined]
    assert row.count() == 1, "a jinan officer sees jinan's alert only"
    row.locator("button.ack").click()
    row.locator("textarea[name=comment]").fill("已联系考点技术员，终端重启中（生成的测试备注）")
    row.locator("form.ack button[type=submit]").click()
    page.wait_for_selector("tr[data-alert] .ack-info")  # type: ignore[attr-defined]
    text = page.locator("tr[data-alert] .ack-info").inner_text()  # type: ignore[attr-defined]
    assert deployment.users["city"].username in text
    assert "终端重启中" in text
    acked = int(page.get_attribute("tr[data-alert]:has(.ack-info)", "data-alert"))  # type: ignore[attr-defined]
    with deployment.signed_in("provincial") as c:
        # By id: on a slow machine the seeded s01 agent (no heartbeats) may have gone offline meanwhile too.
        (alert,) = [a for a in c.get("/api/v1/alerts", params={"city": "jinan"}).json()["alerts"] if a["id"] == acked]
    assert alert["acknowledged_by"] == deployment.users["city"].username
    assert alert["ack_comment"].startswith("已联系考点技术员")


def test_an_alert_closed_for_a_gone_hub_process_says_why(page: object, deployment: Deployment):
    lag = health.ingest_lag_finding("qingdao", "hub-old", 5000, 90.0, HealthSection(), in_session=False)
    assert lag is not None
    opened_at = datetime.now(UTC) - timedelta(minutes=30)
    missed = opened_at + timedelta(minutes=5)
    why = {"closed_because": health.PROCESS_GONE, "missed_since": missed.isoformat()}
    opened = OpenAlert(lag.fingerprint, lag.kind, lag.severity, lag.agent_id, lag.summary, opened_at, None, lag.details)
    conn = connect(deployment.dsn, "sitewatch-tests")
    try:
        apply_changes(conn, [opened, CloseAlert(lag.fingerprint, missed + health.PROCESS_GONE_AFTER, why)])
    finally:
        conn.close()
    sign_in(page, deployment, "provincial", "/alerts")
    page.select_option("select[name=state]", "closed")  # type: ignore[attr-defined]
    note = page.locator(".alert-closed[data-closed-because=process_gone]")  # type: ignore[attr-defined]
    note.wait_for()
    text = note.inner_text()
    assert text.startswith("已由中心关闭：进程 hub-old 自 ")
    assert "未连接数据库" in text
    assert "{" not in text  # every placeholder filled


def test_status_change_arrives_live(page: object, deployment: Deployment):
    sign_in(page, deployment, "city", "/sites/jinan/s01")
    page.wait_for_selector("[data-device=jammer-101][data-status=ok]")  # type: ignore[attr-defined]
    agent: Agent = deployment.agents["jinan/s01/a1"]
    publish(deployment.mqtt, agent.state(jammer_101="fault"))
    # No reload: the page is told by the live stream and fetches the site again.
    page.wait_for_selector("[data-device=jammer-101][data-status=fault]", timeout=5_000)  # type: ignore[attr-defined]
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # type: ignore[attr-defined]
    publish(deployment.mqtt, agent.state(jammer_101="ok"))
    page.wait_for_selector("[data-device=jammer-101][data-status=ok]", timeout=5_000)  # type: ignore[attr-defined]


def test_lost_live_connection_is_shown(page: object, deployment: Deployment):
    sign_in(page, deployment, "provincial")
    hub = deployment.hub
    code = hub.stop_process()
    assert code == 0
    page.wait_for_selector("#live[data-state=lost]")  # type: ignore[attr-defined]
    assert page.locator("#banner").is_visible()  # type: ignore[attr-defined]
    assert "实时连接已断开" in page.locator("#banner").inner_text()  # type: ignore[attr-defined]
    hub.starts += 1
    hub.proc = _spawn(hub.config, hub.log)
    _wait_healthy(hub, hub.starts)
    # EventSource reconnects by itself (retry: 1000); the session lives in the database, so it still holds.
    page.wait_for_selector("#live[data-state=on]", timeout=15_000)  # type: ignore[attr-defined]
    assert not page.locator("#banner").is_visible()  # type: ignore[attr-defined]


def test_switch_language(page: object, deployment: Deployment):
    sign_in(page, deployment, "provincial")
    assert page.locator("#nav a.active").inner_text() == "全省概览"  # type: ignore[attr-defined]
    page.select_option("#lang", "en")  # type: ignore[attr-defined]
    page.wait_for_selector("#nav a.active:has-text('Province')")  # type: ignore[attr-defined]
    assert page.get_attribute("html", "lang") == "en"  # type: ignore[attr-defined]
    # The city cards are drawn again after the menu: wait for them (CI once read them in between, empty).
    page.wait_for_selector(".city h2 .name:has-text('Qingdao')")  # type: ignore[attr-defined]
    assert page.locator(".city h2 .name").all_inner_texts() == ["Jinan", "Qingdao"]  # type: ignore[attr-defined]
    assert "Beijing time" in page.locator("#clock").inner_text()  # type: ignore[attr-defined]
    page.select_option("#lang", "zh-CN")  # type: ignore[attr-defined]
    page.wait_for_selector("#nav a.active:has-text('全省概览')")  # type: ignore[attr-defined]


CITIES = ["zibo", "zaozhuang", "dongying", "yantai", "weifang", "jining", "taian", "weihai",
          "rizhao", "linyi", "dezhou", "liaocheng", "binzhou", "heze"]  # fmt: skip


def seed_many_sites(dsn: str, n_per_city: int) -> None:
    """Many sites at once through the writer's own store call (births and states in one batch)."""
    now = datetime.now(UTC)
    devices = [DeviceInfo(kind="camera", id="vault-cam-1", driver="sim-camera", room="vault")]
    items = []
    for i, city in enumerate(CITIES):
        for s in range(n_per_city):
            agent = f"{city}/s{s:02d}/a1"
            boot = f"{i:04x}{s:04x}0000"
            items.append(Accepted(Birth(agent=agent, boot=boot, seq=0, ts=now, sw_version="0.1.0", started_at=now,
                                        heartbeat_s=5.0, devices=devices), now))  # fmt: skip
            status = "fault" if (i + s) % 17 == 0 else "warning" if (i + s) % 11 == 0 else "ok"
            reading = DeviceState(kind="camera", id="vault-cam-1", status=status, details={})
            state = State(agent=agent, boot=boot, seq=1, ts=now, devices=[reading])
            items.append(Accepted(state, now))
    db = Database(dsn, "web-tests-seed")
    try:
        db.apply_batch(items, now)
    finally:
        db.close()


def test_wall_screen_fits_500_sites(browser: object, deployment: Deployment, artifacts: Path):
    seed_many_sites(deployment.dsn, 35)  # 14 × 35 + the 4 seeded sites = 494
    context = browser.new_context(
        base_url=deployment.hub.url, viewport={"width": 1920, "height": 1080}, bypass_csp=True
    )  # type: ignore[attr-defined]
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        sign_in(page, deployment, "provincial", "/wall")
        page.wait_for_function("document.querySelectorAll('.tile').length >= 494")
        fits = page.evaluate(
            "[document.documentElement.scrollHeight <= innerHeight, document.documentElement.scrollWidth <= innerWidth]"
        )
        assert fits == [True, True], "every site on one 1080p screen, no scrolling"
        page.screenshot(path=str(artifacts / "wall.png"))
    finally:
        context.close()


def in_force(dsn: str) -> str:
    """A calendar (one sitting in jinan/s01 a week from now) stored as the one in force; its plan version."""
    start = (datetime.now(UTC) + timedelta(days=7)).astimezone(EXAM_TZ).replace(tzinfo=None, microsecond=0)
    text = "\n".join([
        "version = 1", "", "[[exams]]", 'id = "gen-exam"', "", "[[sessions]]", 'exam = "gen-exam"', 'id = "gen-web"',
        'paper = "Generated paper gen-web"', f"start = {start.isoformat()}",
        f"end = {(start + timedelta(hours=1)).isoformat()}", 'rooms = ["jinan/s01/101"]', "",
        "[[custody]]", 'city = "jinan"', f"collection = {(start - timedelta(hours=3)).isoformat()}",
        f"arrival_due = {(start - timedelta(hours=1)).isoformat()}",
        f"return = {(start + timedelta(hours=3)).isoformat()}", "",
    ])  # fmt: skip
    version = parse_calendar(text, "generated").version
    conn = connect(dsn, "web-tests-calendar")
    try:
        store_calendar(conn, content=text, source="generated.toml", sha256=hashlib.sha256(text.encode()).hexdigest(),
                       sessions=1, sites=1, imported_by="gen-web-test", now=datetime.now(UTC))  # fmt: skip
    finally:
        conn.close()
    return version


def test_site_page_says_whether_each_agent_holds_the_calendar(page: object, deployment: Deployment):
    agent: Agent = deployment.agents["jinan/s01/a1"]
    current = in_force(deployment.dsn)
    sign_in(page, deployment, "city", "/sites/jinan/s01")
    line = f"[data-agent='{agent.agent_id}']"
    for held, shown in (("none", "none"), ("0123456789abcdef", "stale"), (current, "current")):
        publish(deployment.mqtt, agent.heartbeat(held))
        with deployment.signed_in("city") as c:

            def stored(held: str = held) -> bool:
                agents = c.get("/api/v1/sites/jinan/s01").json()["agents"]
                return [a["calendar_version"] for a in agents if a["agent_id"] == agent.agent_id] == [held]

            wait_for(stored, 10, f"the heartbeat holding {held} stored")
        page.reload()  # type: ignore[attr-defined]
        page.wait_for_selector(f"{line} [data-calendar={shown}]")  # type: ignore[attr-defined]
        text = page.locator(f"{line} [data-calendar]").inner_text()  # type: ignore[attr-defined]
        assert current in text
        if shown == "stale":
            assert "0123456789abcdef" in text
        assert page.locator(f"{line} [data-calendar]").count() == 1  # type: ignore[attr-defined]
