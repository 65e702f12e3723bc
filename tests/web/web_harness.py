"""A real hub for dashboard tests: config, subprocess, generated users, MQTT traffic, signed-in clients.

Identities here are generated test data (``gen-…`` user names, made-up passwords), never a person's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from hub.auth.passwords import Passwords
from hub.store import connect, migrate
from hub.store import users as user_store
from protocol.codec import encode
from protocol.messages import Birth, Death, DeviceInfo, DeviceState, Event, Heartbeat, State

REPO = Path(__file__).resolve().parents[2]
# Cheap hashes for generated users: the hub verifies whatever parameters a hash names.
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


def hub_config(mqtt: tuple[str, int], dsn: str, port: int, **web: object) -> str:
    lines = [
        "[hub]",
        'name = "webtest"',
        "[mqtt]",
        f'host = "{mqtt[0]}"',
        f"port = {mqtt[1]}",
        f'client_id = "hub-web-{uuid.uuid4().hex[:12]}"',
        "[database]",
        f"dsn = {json.dumps(dsn)}",
        "[http]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "[web]",
        *(f"{key} = {json.dumps(value)}" for key, value in web.items()),
    ]
    return "\n".join(lines) + "\n"


@dataclass
class GeneratedUser:
    username: str
    password: str
    role: str
    city: str | None
    id: int = 0


def generated_user(role: str, city: str | None = None) -> GeneratedUser:
    tag = uuid.uuid4().hex[:8]
    return GeneratedUser(f"gen-{role}-{city or 'all'}-{tag}", f"pw-{uuid.uuid4().hex}", role, city)


def add_users(dsn: str, *wanted: GeneratedUser) -> None:
    conn = connect(dsn, "web-tests")
    try:
        migrate(conn)
        for u in wanted:
            row = user_store.create_user(
                conn,
                username=u.username,
                display_name=f"Generated {u.role}",
                role=u.role,
                city=u.city,
                password_hash=FAST_HASHES.hash(u.password),
                now=datetime.now(UTC),
            )
            assert row is not None
            u.id = row.id
    finally:
        conn.close()


class Client(httpx.Client):
    """An httpx client that may be used in ``with`` after it has already sent requests (signing in)."""

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class RunningHub:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    config: Path
    clients: list[Client] = field(default_factory=list)
    starts: int = 1

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def client(self) -> Client:
        c = Client(base_url=self.url, timeout=10.0)
        self.clients.append(c)
        return c

    def signed_in(self, user: GeneratedUser) -> Client:
        """A client with the session cookie and the CSRF token header set."""
        c = self.client()
        r = c.post("/api/v1/session", json={"username": user.username, "password": user.password})
        assert r.status_code == 200, r.text
        c.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        return c

    def restart(self) -> None:
        """Stop (cleanly) and start again on the same port and database; sessions survive."""
        code = self.stop_process()
        assert code == 0, f"the hub did not exit cleanly on SIGTERM (exit {code})"
        self.starts += 1
        self.proc = _spawn(self.config, self.log)
        _wait_healthy(self, self.starts)

    def stop(self) -> int:
        for c in self.clients:
            c.close()
        return self.stop_process()

    def stop_process(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def _spawn(config: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


def _wait_healthy(hub: RunningHub, runs: int) -> None:
    def healthy() -> bool:
        if hub.proc.poll() is not None:
            raise AssertionError(f"hub exited with {hub.proc.returncode}:\n{hub.log_text()}")
        with httpx.Client(timeout=2.0) as c:
            return c.get(f"{hub.url}/healthz").status_code == 200 and hub.log_text().count(" running: ") >= runs

    wait_for(healthy, 30, "the hub's /healthz")


@contextmanager
def running_hub(mqtt: tuple[str, int], dsn: str, workdir: Path, port: int, **web: object) -> Iterator[RunningHub]:
    config = workdir / f"hub-{port}.toml"
    config.write_text(hub_config(mqtt, dsn, port, **web), encoding="utf-8")
    log = workdir / f"hub-{port}.log"
    hub = RunningHub(_spawn(config, log), f"http://127.0.0.1:{port}", log, config)
    try:
        _wait_healthy(hub, 1)
        yield hub
    finally:
        code = hub.stop()
        sys.stderr.write(f"--- hub log ({log}), exit {code} ---\n{hub.log_text()}\n")
        assert code == 0, f"the hub did not exit cleanly on SIGTERM (exit {code})"


# --- MQTT traffic ------------------------------------------------------------------------------------

DEVICES = [
    DeviceInfo(kind="camera", id="vault-cam-1", driver="sim-camera", room="vault", label="试卷库东"),
    DeviceInfo(kind="idcard", id="reader-101", driver="sim-idcard", room="101"),
    DeviceInfo(kind="jammer", id="jammer-101", driver="sim-jammer", room="101"),
    DeviceInfo(kind="idcard", id="reader-102", driver="sim-idcard", room="102"),
    DeviceInfo(kind="jammer", id="jammer-102", driver="sim-jammer", room="102"),
]
KINDS = {d.id: d.kind for d in DEVICES}


class Agent:
    """One simulated agent's messages, with its own boot id and sequence."""

    def __init__(self, agent_id: str) -> None:
        self.agent_id = agent_id
        self.boot = uuid.uuid4().hex[:16]
        self.seq = 0

    def _next(self) -> tuple[int, datetime]:
        self.seq += 1
        return self.seq, datetime.now(UTC)

    def birth(self) -> Birth:
        now = datetime.now(UTC)
        return Birth(agent=self.agent_id, boot=self.boot, seq=0, ts=now, sw_version="0.1.0", started_at=now,
                     heartbeat_s=5.0, devices=DEVICES)  # fmt: skip

    def state(self, **statuses: str) -> State:
        seq, now = self._next()
        devices = [
            DeviceState(kind=KINDS[d.replace("_", "-")], id=d.replace("_", "-"), status=s, details={"seq": seq})  # type: ignore[arg-type]
            for d, s in statuses.items()
        ]
        return State(agent=self.agent_id, boot=self.boot, seq=seq, ts=now, devices=devices)

    def event(self, name: str = "vault.entry", people: int = 2) -> Event:
        seq, now = self._next()
        return Event(agent=self.agent_id, boot=self.boot, seq=seq, ts=now, name=name, severity="info",
                     device="vault-cam-1", details={"people": people})  # fmt: skip

    def heartbeat(self, calendar_version: str) -> Heartbeat:
        seq, now = self._next()
        return Heartbeat(agent=self.agent_id, boot=self.boot, seq=seq, ts=now, uptime_s=60.0,
                         calendar_version=calendar_version)  # fmt: skip

    def death(self) -> Death:
        return Death(agent=self.agent_id, boot=self.boot, seq=0, ts=datetime.now(UTC), reason="will")


def publish(mqtt: tuple[str, int], message: Birth | State | Event | Heartbeat | Death) -> None:
    topic = f"sw/v1/{message.agent}/{message.type}"
    argv = ["mosquitto_pub", "-h", mqtt[0], "-p", str(mqtt[1]), "-V", "5", "-t", topic, "-q", "1", "-s"]
    done = subprocess.run(argv, input=encode(message), capture_output=True, timeout=15, check=False)
    assert done.returncode == 0, done.stderr.decode(errors="replace")


# --- a deployment: a hub, its users and its simulated agents ---------------------------------------------


@dataclass
class Deployment:
    hub: RunningHub
    mqtt: tuple[str, int]
    dsn: str
    users: dict[str, GeneratedUser]
    agents: dict[str, Agent]

    def signed_in(self, who: str) -> Client:
        return self.hub.signed_in(self.users[who])


def seed_sites(hub: RunningHub, mqtt: tuple[str, int], provincial: GeneratedUser) -> dict[str, Agent]:
    """Two sites per city; the s02 agents die, so each city has one open agent_offline alert."""
    agents = {a: Agent(a) for a in ("jinan/s01/a1", "jinan/s02/a1", "qingdao/s01/a1", "qingdao/s02/a1")}
    for agent in agents.values():
        publish(mqtt, agent.birth())
        publish(mqtt, agent.state(vault_cam_1="ok", reader_101="ok", jammer_101="ok", reader_102="ok",
                                  jammer_102="warning"))  # fmt: skip
        publish(mqtt, agent.event())
    for agent_id in ("jinan/s02/a1", "qingdao/s02/a1"):
        publish(mqtt, agents[agent_id].death())
    with hub.signed_in(provincial) as c:
        wait_for(lambda: len(c.get("/api/v1/alerts").json()["alerts"]) == 2, 15, "two agent_offline alerts")
        wait_for(lambda: len(c.get("/api/v1/overview").json()["cities"]) == 2, 15, "both cities")
    return agents
