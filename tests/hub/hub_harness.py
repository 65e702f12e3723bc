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


def http_get(url: str, timeout: float = 5.0) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


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

    def get(self, path: str) -> tuple[int, Any]:
        return http_get(self.url + path.lstrip("/"))

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
