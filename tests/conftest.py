"""Fixtures every test may use: one real Mosquitto and PostgreSQL per session, on free loopback ports.

- ``stack``: the running ``hub.stack.Stack`` (``stack.info`` has the broker address and the DSN); tests may
  stop and restart its services but must leave them running.
- ``mqtt``: ``(host, port)`` of the broker.
- ``pg_dsn``: a DSN for a fresh database, dropped after the test.
- ``mosquitto_pub``: publish with the real ``mosquitto_pub`` (MQTT v5), any bytes as payload.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Callable, Iterator

import psycopg
import pytest
from psycopg import sql

from hub.stack import Stack, StackSettings
from hub.stack.process import free_port

Publish = Callable[..., None]


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = StackSettings(state_dir=tmp_path_factory.mktemp("stack"), mqtt_port=free_port(), pg_port=free_port())
    live = Stack(settings)
    try:
        live.up()
        yield live
    finally:
        # Also after a failed up(): whatever did start must not outlive the session.
        live.destroy()


@pytest.fixture
def mqtt(stack: Stack) -> tuple[str, int]:
    return stack.info.mqtt_host, stack.info.mqtt_port


@pytest.fixture
def pg_dsn(stack: Stack) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex}"
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield stack.admin_dsn(name)
    finally:
        with psycopg.connect(stack.admin_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def mosquitto_pub(mqtt: tuple[str, int]) -> Publish:
    host, port = mqtt

    def publish(topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        argv = ["mosquitto_pub", "-h", host, "-p", str(port), "-V", "5", "-t", topic, "-q", str(qos)]
        if retain:
            argv.append("-r")
        # -s sends stdin as one message, byte for byte; an empty payload needs -n instead.
        argv.append("-s" if payload else "-n")
        done = subprocess.run(argv, input=payload, capture_output=True, timeout=15, check=False)
        assert done.returncode == 0, f"mosquitto_pub failed ({done.returncode}): {done.stderr.decode(errors='replace')}"

    return publish
