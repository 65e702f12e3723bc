"""Hub test fixtures: a store connection on a fresh database, the TimescaleDB lane, and a hub process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hub_harness import HARNESS_PASSWORD, HARNESS_USER, HubProcess, StartHub, hub_config, wait_for

from hub.stack.process import free_port
from hub.stack.timescale import TimescaleLane, TimescaleLaneError
from hub.store import Connection, connect

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store_conn(pg_dsn: str) -> Iterator[Connection]:
    conn = connect(pg_dsn, "sitewatch-tests")
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture(scope="module")
def timescale_dsn() -> Iterator[str]:
    """A PostgreSQL with TimescaleDB (the PGlite lane; one connection at a time, empty each start)."""
    if not TimescaleLane.available():
        pytest.skip("node/npm not installed: no TimescaleDB lane")
    lane = TimescaleLane()
    try:
        dsn = lane.start()
    except TimescaleLaneError as exc:
        pytest.skip(f"TimescaleDB lane did not start: {exc}")
    try:
        yield dsn
    finally:
        lane.stop()


@pytest.fixture
def start_hub(mqtt: tuple[str, int], pg_dsn: str, tmp_path: Path) -> Iterator[StartHub]:
    """Start ``sitewatch hub`` as a real subprocess; it is stopped (SIGTERM, by PID) after the test."""
    started: list[HubProcess] = []

    def start(**liveness: float) -> HubProcess:
        port = free_port()
        config = tmp_path / f"hub-{len(started)}.toml"
        config.write_text(hub_config(mqtt, pg_dsn, port, **liveness), encoding="utf-8")
        log = tmp_path / f"hub-{len(started)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        hub = HubProcess(proc, f"http://127.0.0.1:{port}/", log, config)
        started.append(hub)

        def healthy() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"hub exited with {proc.returncode}:\n{hub.log_text()}")
            return hub.get("healthz")[0] == 200 and "running" in hub.log_text()

        wait_for(healthy, 30, "the hub's /healthz")
        add_user = [sys.executable, "-m", "hub.cli", "hub", "user", "add", "--config", str(config)]
        subprocess.run(
            [*add_user, HARNESS_USER, "--role", "provincial", "--password-stdin"],
            input=f"{HARNESS_PASSWORD}\n".encode(),
            check=False,  # a second hub on the same database finds the user already there
            capture_output=True,
            cwd=REPO,
            timeout=60,
        )
        return hub

    yield start
    for hub in started:
        code = hub.stop()
        # pytest shows captured output only for failing tests, so this costs nothing when all is well.
        sys.stderr.write(f"--- hub log ({hub.log}), exit {code} ---\n{hub.log_text()}\n")
        assert code == 0, f"the hub did not exit cleanly on SIGTERM (exit {code})"
