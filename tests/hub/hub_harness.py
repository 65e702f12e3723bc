"""Running ``sitewatch hub`` as a subprocess and polling it (imported by conftest and the tests)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# A generated provincial officer the harness signs in as (the API serves nobody signed out).
HARNESS_USER = "gen-harness"
HARNESS_PASSWORD = "pw-generated-harness"


def http_get(url: str, timeout: float = 5.0, cookie: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def sign_in(base_url: str, username: str, password: str) -> str:
    """POST the JSON sign-in and return the session cookie as a ``Cookie`` header value."""
    body = json.dumps({"username": username, "password": password}).encode()
    request = urllib.request.Request(
        base_url + "api/v1/session",
        data=body,
        headers={"Content-Type": "application/json", "Origin": base_url.rstrip("/")},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as resp:
        cookies = [h.split(";", 1)[0] for h in resp.headers.get_all("Set-Cookie") or []]
    session = [c for c in cookies if c.startswith("sw_session=")]
    if not session:
        raise AssertionError(f"sign-in gave no session cookie: {cookies}")
    return session[0]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Poll until ``predicate()`` is truthy; its value is returned.  Fails naming ``what``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, KeyError, IndexError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


@dataclass
class HubProcess:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    config: Path
    cookie: str | None = None

    def get(self, path: str) -> tuple[int, Any]:
        path = path.lstrip("/")
        if path.startswith("api/") and self.cookie is None:
            self.cookie = sign_in(self.url, HARNESS_USER, HARNESS_PASSWORD)
        return http_get(self.url + path, cookie=self.cookie if path.startswith("api/") else None)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def hub_config(mqtt: tuple[str, int], dsn: str, http_port: int, **liveness: float) -> str:
    lines = [
        "[hub]",
        'name = "test"',
        "[mqtt]",
        f'host = "{mqtt[0]}"',
        f"port = {mqtt[1]}",
        # Unique per test: the broker keeps a persistent session per client id.
        f'client_id = "hub-test-{uuid.uuid4().hex[:12]}"',
        "[database]",
        f"dsn = {json.dumps(dsn)}",
        "[http]",
        'host = "127.0.0.1"',
        f"port = {http_port}",
        "[liveness]",
        *(f"{key} = {value}" for key, value in liveness.items()),
    ]
    return "\n".join(lines) + "\n"


StartHub = Callable[..., HubProcess]
