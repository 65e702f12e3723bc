"""A city hub and a province hub as real processes, each with its own database, sharing a generated key.

Identities are generated test data (``gen-…`` users, made-up passwords and keys).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from hub.auth.passwords import Passwords
from hub.store import connect, migrate
from hub.store import users as user_store

REPO = Path(__file__).resolve().parents[2]
FAST_HASHES = Passwords(time_cost=1, memory_cost=8 * 1024)


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, httpx.HTTPError, KeyError, IndexError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


class Client(httpx.Client):
    """An httpx client usable in ``with`` after it has already sent requests (signing in)."""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class User:
    username: str
    password: str
    role: str
    city: str | None


def add_user(dsn: str, role: str, city: str | None = None) -> User:
    user = User(f"gen-{role}-{uuid.uuid4().hex[:8]}", f"pw-{uuid.uuid4().hex}", role, city)
    conn = connect(dsn, "two-hub-tests")
    try:
        migrate(conn)
        row = user_store.create_user(
            conn,
            username=user.username,
            display_name=f"Generated {role}",
            role=role,
            city=city,
            password_hash=FAST_HASHES.hash(user.password),
            now=datetime.now(UTC),
        )
        assert row is not None
    finally:
        conn.close()
    return user


@dataclass
class HubProc:
    name: str
    config: Path
    log: Path
    url: str
    role: str
    dsn: str
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    clients: list[Client] = field(default_factory=list)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "hub", "--config", str(self.config), "--role", self.role],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.starts += 1
        proc = self.proc

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"{self.name} hub exited with {proc.returncode}:\n{self.log_text()}")
            with httpx.Client(timeout=2.0) as c:
                ok = c.get(f"{self.url}/healthz").status_code == 200
            return ok and self.log_text().count(" running: ") >= self.starts

        wait_for(healthy, 40, f"the {self.name} hub's /healthz")

    def stop(self) -> int:
        proc = self.proc
        if proc is None:
            return 0
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.proc = None
        return proc.returncode

    def signed_in(self, user: User) -> Client:
        c = Client(base_url=self.url, timeout=10.0)
        self.clients.append(c)
        r = c.post("/api/v1/session", json={"username": user.username, "password": user.password})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    def close_clients(self) -> None:
        for c in self.clients:
            c.close()
        self.clients.clear()


def config_text(*, name: str, mqtt: tuple[str, int], dsn: str, port: int, extra: str) -> str:
    return (
        "\n".join(
            [
                "[hub]",
                f'name = "{name}"',
                "[mqtt]",
                f'host = "{mqtt[0]}"',
                f"port = {mqtt[1]}",
                f'client_id = "hub-{name}-{uuid.uuid4().hex[:10]}"',
                "[database]",
                f"dsn = {json.dumps(dsn)}",
                "[http]",
                'host = "127.0.0.1"',
                f"port = {port}",
                extra,
            ]
        )
        + "\n"
    )
