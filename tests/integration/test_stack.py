"""The dev stack for real: a broker that relays, a database that answers, and nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from hub.stack import Stack, StackSettings
from hub.stack.mosquitto import render_config
from hub.stack.process import free_port, port_open, wait_until

Publish = Callable[..., None]  # the mosquitto_pub fixture


def _alive(pid: int) -> bool:
    # Our own reading of /proc, independent of the code under test; a zombie has already exited.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _live_children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _alive(int(entry.name)):
            try:
                ppid = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
            except (FileNotFoundError, IndexError):
                continue
            if ppid == pid:
                children.append(int(entry.name))
    return children


def _pids(stack: Stack) -> dict[str, int]:
    status = stack.status()
    return {name: entry["pid"] for name, entry in status.items()}  # type: ignore[index]


def _retained_round_trip(mqtt: tuple[str, int], publish: Publish) -> None:
    topic = f"test/stack/{uuid.uuid4().hex}"
    payload = bytes(range(256)) + "机要试卷".encode()
    publish(topic, payload, retain=True)
    try:
        host, port = mqtt
        got = subprocess.run(
            ["mosquitto_sub", "-h", host, "-p", str(port), "-V", "5", "-t", topic, "-C", "1", "-W", "10", "-N"],
            capture_output=True,
            timeout=20,
            check=False,
        )
        assert got.returncode == 0, got.stderr
        assert got.stdout == payload
    finally:
        publish(topic, b"", retain=True)


def test_mosquitto_config_listens_on_loopback_only(tmp_path: Path) -> None:
    text = render_config(StackSettings(state_dir=tmp_path, mqtt_port=18830), user="nobody")
    directives = [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert [d for d in directives if d[0] == "listener"] == [["listener", "18830", "127.0.0.1"]]
    # Either of these would open a second, all-interfaces listener.
    assert not [d for d in directives if d[0] in ("port", "bind_address", "bind_interface")]


@pytest.mark.integration
def test_broker_relays_arbitrary_bytes(mqtt: tuple[str, int], mosquitto_pub: Publish) -> None:
    _retained_round_trip(mqtt, mosquitto_pub)


@pytest.mark.integration
def test_postgres_answers_through_the_dsn(stack: Stack, pg_dsn: str) -> None:
    with psycopg.connect(stack.info.dsn) as conn:
        assert conn.execute("SELECT 1, current_database()").fetchone() == (1, "sitewatch")
    with psycopg.connect(pg_dsn) as conn:
        row = conn.execute("SELECT 1, current_database(), current_setting('server_encoding')").fetchone()
    assert row is not None
    assert row[0] == 1
    assert row[1].startswith("test_")
    assert row[2] == "UTF8"


@pytest.mark.integration
def test_broker_stops_and_restarts_mid_session(stack: Stack, mqtt: tuple[str, int], mosquitto_pub: Publish) -> None:
    before = _pids(stack)["mosquitto"]
    stack.stop_mqtt()
    try:
        assert not _alive(before)
        assert stack.status()["mosquitto"] == {"running": False, "pid": None, "port": mqtt[1]}
        assert not port_open(*mqtt)
    finally:
        stack.start_mqtt()
    assert stack.status()["mosquitto"]["running"]  # type: ignore[index]
    _retained_round_trip(mqtt, mosquitto_pub)


@pytest.mark.integration
def test_up_is_idempotent_and_down_leaves_nothing_behind(tmp_path: Path) -> None:
    settings = StackSettings(state_dir=tmp_path / "state", mqtt_port=free_port(), pg_port=free_port())
    stack = Stack(settings)
    try:
        info = stack.up()
        pids = _pids(stack)
        assert all(_alive(pid) for pid in pids.values())
        assert stack.is_running()

        # A second Stack on the same state directory reuses the running services.
        assert Stack(settings).up() == info
        assert _pids(stack) == pids

        stack.stop_postgres()
        assert not _alive(pids["postgres"])
        stack.start_postgres()
        with psycopg.connect(info.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        # A crash (SIGKILL) leaves PostgreSQL's lock files behind; up() starts both services again.
        killed = list(_pids(stack).values())
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        assert wait_until(lambda: not any(_alive(pid) for pid in killed), timeout=10)
        assert stack.up() == info
        with psycopg.connect(info.dsn) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)

        pids = _pids(stack)
        postgres_children = _live_children(pids["postgres"])
        assert postgres_children  # checkpointer, walwriter, ...

        stack.down()
        assert not [pid for pid in [*pids.values(), *postgres_children] if _alive(pid)]
        assert not (settings.state_dir / "mosquitto.pid").exists()
        assert not (settings.state_dir / "postgres.pid").exists()
        assert not stack.is_running()
        assert all(not entry["running"] for entry in stack.status().values())  # type: ignore[index]
        assert not port_open(settings.host, settings.mqtt_port)
        assert not port_open(settings.host, settings.pg_port)
        stack.down()  # and again, harmlessly
    finally:
        stack.destroy()
