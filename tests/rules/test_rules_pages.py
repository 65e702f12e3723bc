"""The calendar and go / no-go pages in a real browser (Debian's chromium): what the duty desk sees, and
its two buttons — report the papers' arrival, check a site now."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rules_harness import (
    PASSWORD,
    READER_ABSENT,
    USER,
    FakeAgent,
    RulesHub,
    calendar_toml,
    camera,
    unique_site,
    wait_for,
)

from protocol.messages import DeviceInfo

pytestmark = pytest.mark.integration
playwright_api = pytest.importorskip("playwright.sync_api")
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]  # fmt: skip
# Set to a folder to keep screenshots of the pages (for a person to look at).
SHOTS = os.environ.get("SITEWATCH_SCREENSHOTS")

if shutil.which(CHROMIUM) is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture
def browser_page(rules_hub: Callable[..., RulesHub]) -> Iterator[tuple[RulesHub, object]]:
    hub = rules_hub(gonogo_recheck_s=3600.0)  # no scheduled re-run replaces the one clicked here
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(base_url=hub.url, viewport={"width": 1440, "height": 900}, locale="en")
        context.set_default_timeout(10_000)
        page = context.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda exc: problems.append(str(exc)))
        try:
            yield hub, page
        finally:
            context.close()
            browser.close()
        assert not problems, f"script errors on the page: {problems}"


def shot(page: object, name: str) -> None:
    if SHOTS:
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_calendar_and_gonogo_pages(
    browser_page: tuple[RulesHub, object], fake_agent: Callable[[str, list[DeviceInfo]], FakeAgent], tmp_path: Path
) -> None:
    hub, page = browser_page
    city, slug = unique_site()
    site = f"{city}/{slug}"
    devices = [DeviceInfo(kind="camera", id="vault-cam-1", driver="gen-sim", room="vault"),
               DeviceInfo(kind="idcard", id="reader-101", driver="gen-sim", room="101")]  # fmt: skip
    agent = fake_agent(f"{site}/a1", devices)
    agent.birth()
    agent.heartbeat()
    agent.state(vault_cam_1=camera(0), reader_101=READER_ABSENT)
    wait_for(lambda: hub.client.get(f"/api/v1/sites/{city}/{slug}").status_code == 200, 10, "the site")
    now = datetime.now(UTC)
    session = {"id": "gen-page", "start": now + timedelta(minutes=20), "end": now + timedelta(minutes=80),
               "rooms": [f"{site}/*"]}  # fmt: skip
    done = hub.import_calendar(calendar_toml([session], [city], now, arrival_due=timedelta(minutes=10)), tmp_path)
    assert done.returncode == 0, done.stderr

    page.goto("/sign-in")  # type: ignore[attr-defined]
    page.fill("input[name=username]", USER)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url("**/")  # type: ignore[attr-defined]

    page.goto("/calendar")  # type: ignore[attr-defined]
    row = page.locator(f"tr[data-site='{site}']")  # type: ignore[attr-defined]
    row.get_by_text("Not reported").wait_for()
    assert page.locator("tr[data-session='gen-page']").count() == 1  # type: ignore[attr-defined]
    shot(page, "calendar")
    row.get_by_role("button", name="Report arrival").click()
    row.get_by_text("In the vault since").wait_for()
    assert hub.client.get("/api/v1/calendar").json()["arrivals"][0]["reported_by"] == USER

    page.goto("/gonogo")  # type: ignore[attr-defined]
    board = page.locator(f"tr[data-site='{site}']")  # type: ignore[attr-defined]
    board.locator("[data-verdict=no_go]").wait_for()  # room 101: no jammer, no probe, its reader absent
    shot(page, "gonogo")
    before = hub.client.get("/api/v1/gonogo").json()["sites"]
    board.get_by_role("button", name="Check now").click()
    after = wait_for(
        lambda: [s for s in hub.client.get("/api/v1/gonogo").json()["sites"] if s["trigger"] == "demand"], 10, "a run"
    )
    assert [s["site_id"] for s in after] == [site]
    assert before != after
    board.get_by_text(f"on demand, by {USER}").wait_for()
