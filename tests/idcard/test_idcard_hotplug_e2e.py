"""Hotplug end to end: umockdev pulls the reader's tty → a whole agent (AgentRunner under umockdev-wrapper,
real pyudev, SQLite outbox, paho) → real Mosquitto → a real hub process with the rules engine → "reader
missing" for room 101: a warning before check-in opens, critical inside the check-in window; plugging it
back clears it.  The hub also shows the reader's SAM id, learned from the agent's birth.

Hysteresis is the rules harness's short one (``FAST_RULES``); the limits asserted are those settings plus
a margin for the agent's 1 s tick, delivery and the API poll, not performance goals.  The latencies from
the uevent to the alert visible in the API are printed (``LATENCY …`` on stderr) for the closing note.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from idcard_helpers import scenario_env, umockdev_or_skip

from agent.drivers.idcard.replies import encode_sam_id, format_sam_id
from hub.rules.idcard import MISSING
from hub.stack.process import free_port

# The rules end-to-end harness: a real hub process with short hysteresis, calendars built around now.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))
from rules_harness import (
    FAST_RULES,
    PASSWORD,
    USER,
    RulesHub,
    calendar_toml,
    start_hub,
    unique_site,
    wait_for,
)

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
SAM_ID = format_sam_id(encode_sam_id(5, 1, 20240517, 777, 888))  # what umockdev_agent.py's simulator holds
MARGIN_S = 10.0  # the agent's tick, delivery, batching, the rules tick, the API poll — on a loaded 2-core machine


class Scenario:
    """umockdev_agent.py under umockdev-wrapper: words to its stdin, one JSON line a step from its stdout."""

    def __init__(self, argv: list[str], log: Path) -> None:
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=scenario_env(), text=True
        )
        self._lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.log = log

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(json.loads(line))

    def expect(self, step: str, timeout: float = 30.0) -> dict[str, Any]:
        try:
            record = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no {step!r} from the agent scenario:\n{self.log_text()}") from None
        assert record["step"] == step, f"{record} instead of {step!r}:\n{self.log_text()}"
        return record

    def send(self, word: str) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(word + "\n")
        self.proc.stdin.flush()
        return self.expect(word)

    def log_text(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop(self) -> int:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError, OSError):
                self.send("stop")
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._reader.join(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()
        self._log.close()
        return self.proc.returncode


@pytest.fixture
def hub(mqtt: tuple[str, int], pg_dsn: str, tmp_path: Path) -> Iterator[RulesHub]:
    started = start_hub(mqtt, pg_dsn, tmp_path, free_port(), FAST_RULES)
    yield started
    code = started.stop()
    sys.stderr.write(f"--- hub log ({started.log}), exit {code} ---\n{started.log_text()[-6000:]}\n")
    assert code == 0, f"the hub did not exit cleanly on SIGTERM (exit {code})"


@pytest.fixture
def scenario(mqtt: tuple[str, int], tmp_path: Path) -> Iterator[tuple[Scenario, str]]:
    wrapper = umockdev_or_skip()
    city, slug = unique_site()
    key = tmp_path / "exam.key"
    key.write_bytes(b"umockdev-generated-test-key-0002")
    argv = [wrapper, sys.executable, str(HERE / "umockdev_agent.py"), mqtt[0], str(mqtt[1]), city, slug, str(key),
            str(tmp_path)]  # fmt: skip
    run = Scenario(argv, tmp_path / "agent.log")
    try:
        run.expect("started")
        yield run, f"{city}/{slug}"
    finally:
        code = run.stop()
        sys.stderr.write(f"--- agent log ({run.log}), exit {code} ---\n{run.log_text()}\n")
    assert code == 0, f"the agent scenario failed (exit {code})"


def reader_at_hub(hub: RulesHub, site: str) -> dict[str, Any] | None:
    r = hub.client.get(f"/api/v1/sites/{site}")
    if r.status_code != 200:
        return None
    devices = [d for a in r.json()["agents"] for d in a["devices"] if d["id"] == "reader-101"]
    return devices[0] if devices else None


def report(name: str, seconds: float) -> None:
    sys.stderr.write(f"LATENCY {name}: {seconds:.2f} s\n")


def missing_alert(hub: RulesHub, site: str, severity: str) -> dict[str, Any] | None:
    found = [a for a in hub.open_alerts(site, MISSING) if a["severity"] == severity]
    return found[0] if found else None


def test_pulling_the_reader_out_raises_reader_missing_at_the_hub(
    hub: RulesHub, scenario: tuple[Scenario, str], tmp_path: Path
) -> None:
    run, site = scenario
    city = site.split("/")[0]

    # Plugged in at start: online at the hub, with the SAM id the agent's fresh birth announced.
    ready = wait_for(
        lambda: (d := reader_at_hub(hub, site)) and d["status"] == "ok" and d["identity"] and d,
        30,
        "the reader online at the hub with its identity",
    )
    assert ready["identity"] == SAM_ID
    assert ready["label"] == "Room 101 door"

    now = datetime.now(UTC)
    opens = (now + timedelta(seconds=25)).replace(microsecond=0)
    session = {"id": "gen-e2e", "start": opens, "end": opens + timedelta(hours=1), "rooms": [f"{site}/101"]}
    done = hub.import_calendar(calendar_toml([session], [city], now), tmp_path)
    assert done.returncode == 0, done.stderr + done.stdout
    assert hub.open_alerts(site, MISSING) == []

    # Before check-in opens: pulled out → warning; plugged back → cleared.
    removed = run.send("remove")
    warning = wait_for(lambda: missing_alert(hub, site, "warning"), FAST_RULES["warning_after_s"] + MARGIN_S, "warn")
    report("tty removed → reader_missing warning at the hub", time.time() - removed["at"])
    assert warning["device_id"] == "reader-101"
    assert datetime.now(UTC) < opens, "the warning came too late to be outside the window: raise the lead time"
    added = run.send("add")
    wait_for(lambda: not hub.open_alerts(site, MISSING), FAST_RULES["clear_after_s"] + MARGIN_S, "cleared")
    report("tty added → reader_missing cleared", time.time() - added["at"])

    # Inside the check-in window: pulled out → critical; plugged back → cleared.
    time.sleep(max(0.0, (opens - datetime.now(UTC)).total_seconds()) + 1.0)
    assert hub.open_alerts(site, MISSING) == []
    removed = run.send("remove")
    critical = wait_for(
        lambda: missing_alert(hub, site, "critical"), FAST_RULES["critical_after_s"] + MARGIN_S, "critical"
    )
    report("tty removed → reader_missing critical at the hub", time.time() - removed["at"])
    assert critical["device_id"] == "reader-101"
    added = run.send("add")
    wait_for(lambda: not hub.open_alerts(site, MISSING), FAST_RULES["clear_after_s"] + MARGIN_S, "cleared again")
    report("tty added → reader_missing cleared (in the window)", time.time() - added["at"])

    # The same reader came back: the identity is unchanged and nothing was logged as a replacement.
    back = reader_at_hub(hub, site)
    assert back is not None
    assert back["identity"] == SAM_ID
    assert "replaced" not in hub.log_text()

    # The site page shows the reader's identity (real headless Chromium).
    assert SAM_ID in site_page_reader_text(hub, site)


def site_page_reader_text(hub: RulesHub, site: str) -> str:
    playwright = pytest.importorskip("playwright.sync_api")
    if shutil.which("/usr/bin/chromium") is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(base_url=hub.url, locale="en")
            page.set_default_timeout(15_000)
            page.goto(f"/sites/{site}")
            page.fill("#username", USER)
            page.fill("#password", PASSWORD)
            page.click("#sign-in")
            return str(page.locator("[data-device=reader-101] .identity").inner_text())
        finally:
            browser.close()
