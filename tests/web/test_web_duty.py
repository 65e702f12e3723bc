"""The duty check-in button on the overview, in real headless Chromium against a real hub whose config
makes today (Beijing) a duty day: the click is stored and the countdown starts again from it."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from web_harness import GeneratedUser, RunningHub, _spawn, _wait_healthy, add_users, generated_user, hub_config

from hub.alerts.duty import EXAM_TZ
from hub.stack import Stack
from hub.stack.process import free_port

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
EVERY_S = 600

if shutil.which(CHROMIUM) is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def duty_hub(
    stack: Stack, module_dsn: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[RunningHub, dict[str, GeneratedUser]]]:
    users = {"city": generated_user("city", "jinan"), "provincial": generated_user("provincial")}
    add_users(module_dsn, *users.values())
    workdir = tmp_path_factory.mktemp("dutyhub")
    port = free_port()
    today = datetime.now(EXAM_TZ).date()
    duty = [
        "[escalation.duty]",
        'cities = ["jinan"]',
        # Yesterday too: the test may run across Beijing midnight.
        f"days = [{today - timedelta(days=1)}, {today}, {today + timedelta(days=1)}]",
        f"every_s = {float(EVERY_S)}",
        "grace_s = 60.0",
    ]
    config = workdir / f"hub-{port}.toml"
    mqtt = (stack.info.mqtt_host, stack.info.mqtt_port)
    config.write_text(hub_config(mqtt, module_dsn, port, live_ping_s=0.5) + "\n".join(duty) + "\n", encoding="utf-8")
    log = workdir / f"hub-{port}.log"
    hub = RunningHub(_spawn(config, log), f"http://127.0.0.1:{port}", log, config)
    try:
        _wait_healthy(hub, 1)
        yield hub, users
    finally:
        code = hub.stop()
        sys.stderr.write(f"--- hub log ({log}), exit {code} ---\n{hub.log_text()}\n")
        assert code == 0, f"the hub did not exit cleanly on SIGTERM (exit {code})"


@pytest.fixture
def page(duty_hub: tuple[RunningHub, dict[str, GeneratedUser]]) -> Iterator[object]:
    hub, _ = duty_hub
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(base_url=hub.url, locale="zh-CN")
        context.set_default_timeout(10_000)
        pg = context.new_page()
        problems: list[str] = []
        pg.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            yield pg
        finally:
            context.close()
            browser.close()
        assert not problems, f"script errors on the page: {problems}"


def sign_in(page: object, user: GeneratedUser) -> None:
    page.goto("/")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: urlsplit(url).path == "/sign-in")  # type: ignore[attr-defined]
    page.fill("#username", user.username)  # type: ignore[attr-defined]
    page.fill("#password", user.password)  # type: ignore[attr-defined]
    page.click("#sign-in")  # type: ignore[attr-defined]
    page.wait_for_url(lambda url: urlsplit(url).path == "/")  # type: ignore[attr-defined]
    page.wait_for_selector("#duty .duty-desk[data-city=jinan]")  # type: ignore[attr-defined]


def test_check_in_button_stores_and_resets_the_countdown(
    page: object, duty_hub: tuple[RunningHub, dict[str, GeneratedUser]], artifacts: Path
) -> None:
    hub, users = duty_hub
    sign_in(page, users["city"])
    desk = page.locator("#duty .duty-desk[data-city=jinan]")  # type: ignore[attr-defined]
    assert "上次签到 —" in desk.inner_text()
    due_before = desk.locator(".duty-countdown").get_attribute("data-due")
    assert due_before is not None

    clicked = datetime.now(EXAM_TZ)
    page.click("#duty-check-in")  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "(before) => document.querySelector('#duty .duty-countdown')?.dataset.due !== before", arg=due_before
    )
    due_after = datetime.fromisoformat(desk.locator(".duty-countdown").get_attribute("data-due"))
    # The next check-in is due every_s after the click, and the countdown says so (9:5x left, not overdue).
    assert abs((due_after - clicked).total_seconds() - EVERY_S) < 10
    countdown = desk.locator(".duty-countdown").inner_text()
    assert countdown.startswith("（剩余 9:") or countdown.startswith("（剩余 10:"), countdown
    assert "上次签到 —" not in desk.inner_text()
    page.screenshot(path=str(artifacts / "duty.png"))  # type: ignore[attr-defined]

    # Stored: another session (the province) reads the same check-in from the hub.
    with hub.signed_in(users["provincial"]) as c:
        (jinan,) = [d for d in c.get("/api/v1/duty").json()["desks"] if d["city"] == "jinan"]
    assert jinan["on_duty"] is True
    assert jinan["missed"] is False
    last = datetime.fromisoformat(jinan["last_check_in"])
    assert abs((last - clicked).total_seconds()) < 10
    assert datetime.fromisoformat(jinan["due_at"]) == due_after


def test_a_provincial_officer_sees_the_desk_but_no_button(
    page: object, duty_hub: tuple[RunningHub, dict[str, GeneratedUser]]
) -> None:
    _, users = duty_hub
    sign_in(page, users["provincial"])
    assert page.locator("#duty-check-in").count() == 0  # type: ignore[attr-defined]
    assert page.locator("#duty .duty-desk[data-city=jinan] .duty-next").count() == 1  # type: ignore[attr-defined]
