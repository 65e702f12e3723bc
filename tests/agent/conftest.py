"""Fixtures for the agent's tests: a hand-driven clock, config files, a subscriber and a private broker.

The session broker (``mqtt`` in tests/conftest.py) serves tests that only need a broker; ``private_broker``
is for tests that must start, stop or restrict their own (reconnect, last will, ACL refusals).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import queue
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

# 2026-05-17 00:00:00 UTC: a round epoch second, so simulated slot boundaries fall on whole fake seconds.
EPOCH = datetime(2026, 5, 17, tzinfo=UTC)


class ManualClock:
    """A clock that moves only when the test says so."""

    def __init__(self, start: datetime = EPOCH) -> None:
        self._now = start
        self._mono = 1000.0

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._mono

    def advance(self, seconds: float) -> None:
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


def _agent_toml(
    host: str = "127.0.0.1",
    port: int = 1883,
    city: str = "jinan",
    site: str = "s01",
    heartbeat_s: float = 5.0,
    extra_broker: str = "",
) -> str:
    return f"""
[agent]
city = "{city}"
site = "{site}"
name = "a1"
heartbeat_s = {heartbeat_s}
state_interval_s = 5.0

[broker]
host = "{host}"
port = {port}
{extra_broker}

[[devices]]
driver = "sim-camera"
id = "vault-cam-1"
room = "vault"
label = "Vault east"
seed = 7

[[devices]]
driver = "sim-idcard"
id = "reader-101"
room = "101"

[[devices]]
driver = "sim-jammer"
id = "jammer-101"
room = "101"
"""


@pytest.fixture
def agent_toml() -> Callable[..., str]:
    """A valid agent config as TOML text; keyword arguments change the broker, ids and heartbeat."""
    return _agent_toml


@pytest.fixture
def write_config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str, name: str = "agent.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return write


@pytest.fixture
def unique_site() -> str:
    # The session broker keeps retained births across tests: a fresh site id keeps each test's own.
    return f"t{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Received:
    topic: str
    retained: bool
    payload: bytes
    body: dict[str, Any]


class Subscriber:
    """A plain paho client collecting decoded JSON messages, for checking what reached the broker."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        self.messages: queue.Queue[Received] = queue.Queue()
        self._subscribed = queue.Queue[bool]()
        client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe(topic, qos=1)
        client.on_subscribe = lambda *_: self._subscribed.put(True)
        client.on_message = lambda _c, _u, m: self.messages.put(
            Received(m.topic, bool(m.retain), m.payload, json.loads(m.payload))
        )
        client.connect(host, port)
        client.loop_start()
        self._client = client
        self._subscribed.get(timeout=10)

    def wait_for(self, predicate: Callable[[Received], bool], timeout: float = 10.0) -> Received:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                got = self.messages.get(timeout=left)
            except queue.Empty:
                break
            if predicate(got):
                return got
            seen.append(f"{got.topic} seq={got.body.get('seq')}")
        raise AssertionError(f"no matching message within {timeout} s; saw {seen}")

    def of_type(self, kind: str, timeout: float = 10.0, **fields: Any) -> Received:
        return self.wait_for(
            lambda r: r.body.get("type") == kind and all(r.body.get(k) == v for k, v in fields.items()), timeout
        )

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def subscribe() -> Iterator[Callable[[str, int, str], Subscriber]]:
    made: list[Subscriber] = []

    def make(host: str, port: int, topic: str) -> Subscriber:
        sub = Subscriber(host, port, topic)
        made.append(sub)
        return sub

    yield make
    for sub in made:
        sub.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# Debian installs the broker in /usr/sbin, which is not on an ordinary user's PATH.
MOSQUITTO = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin") or "mosquitto"


class PrivateBroker:
    """A Mosquitto of the test's own on a fixed loopback port, started and stopped by PID."""

    def __init__(self, workdir: Path, acl: str | None = None) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.workdir = workdir
        # Started by root, Mosquitto would switch to the `mosquitto` account, which cannot read a pytest tmp dir.
        user = pwd.getpwuid(os.getuid()).pw_name
        lines = [f"listener {self.port} 127.0.0.1", "allow_anonymous true", "persistence false", f"user {user}"]
        if acl is not None:
            (workdir / "acl").write_text(acl, encoding="utf-8")
            lines.append(f"acl_file {workdir / 'acl'}")
        (workdir / "mosquitto.conf").write_text("\n".join(lines) + "\n", encoding="utf-8")
        self._proc: subprocess.Popen[bytes] | None = None
        self._log = workdir / "mosquitto.log"

    def start(self) -> None:
        assert self._proc is None, "already running"
        with self._log.open("ab") as log:
            self._proc = subprocess.Popen(
                [MOSQUITTO, "-c", str(self.workdir / "mosquitto.conf")], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection((self.host, self.port), timeout=0.2):
                return
            if self._proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"mosquitto did not come up: {self._log.read_text(errors='replace')}")

    def stop(self) -> None:
        if self._proc is None:
            return
        proc, self._proc = self._proc, None
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., PrivateBroker]]:
    made: list[PrivateBroker] = []

    def make(acl: str | None = None, start: bool = True) -> PrivateBroker:
        broker = PrivateBroker(tmp_path_factory.mktemp("mosquitto"), acl)
        made.append(broker)
        if start:
            broker.start()
        return broker

    yield make
    for broker in made:
        broker.stop()
