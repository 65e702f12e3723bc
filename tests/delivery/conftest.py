"""Fixtures of the delivery fault tests: a private stack, a fresh database, hub processes, stream agents.

The tests stop the broker and the database, so they get a Mosquitto and a PostgreSQL of their own
(the session ``stack`` of tests/conftest.py serves everyone else and must stay up); Mosquitto's
persistence is off, as in the default stack, so only the agents' outboxes carry data over its restart.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from delivery_harness import HubProcess, NewAgent, StartHub, StreamAgent, end_session, hub_toml, tail
from psycopg import sql

from hub.stack import Stack, StackSettings
from hub.stack.process import free_port


@pytest.fixture(scope="session")
def delivery_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    settings = StackSettings(
        state_dir=tmp_path_factory.mktemp("delivery-stack"), mqtt_port=free_port(), pg_port=free_port()
    )
    stack = Stack(settings)
    try:
        stack.up()
        yield stack
    finally:
        stack.destroy()


@pytest.fixture
def broker(delivery_stack: Stack) -> tuple[str, int]:
    return delivery_stack.info.mqtt_host, delivery_stack.info.mqtt_port


@pytest.fixture
def delivery_db(delivery_stack: Stack, broker: tuple[str, int]) -> Iterator[str]:
    name = f"dlv_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(delivery_stack.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    yield delivery_stack.admin_dsn(name)
    # A test that failed between stopping and starting a service must not take the next test down too.
    delivery_stack.up()
    with psycopg.connect(delivery_stack.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def start_hub(delivery_stack: Stack, broker: tuple[str, int], delivery_db: str, tmp_path: Path) -> Iterator[StartHub]:
    """Start ``sitewatch hub`` processes on the private stack; each is stopped (by PID) after the test."""
    hubs: list[HubProcess] = []
    tag = uuid.uuid4().hex[:8]

    def start(name: str = "h1", *, shared_group: str | None = None, session_expiry_s: int = 300) -> HubProcess:
        client_id = f"hub-{name}-{tag}"
        config = tmp_path / f"hub-{name}.toml"
        config.write_text(
            hub_toml(
                name=name,
                client_id=client_id,
                mqtt=broker,
                dsn=delivery_db,
                shared_group=shared_group,
                session_expiry_s=session_expiry_s,
            ),
            encoding="utf-8",
        )
        hub = HubProcess(name, client_id, config, tmp_path / f"hub-{name}.log")
        hubs.append(hub)
        hub.start()
        return hub

    yield start
    for hub in hubs:
        code = hub.stop()
        sys.stderr.write(f"--- hub {hub.name}: exit {code}, {hub.kills} kill(s)\n{tail(hub.log, 25)}\n")
    delivery_stack.up()
    for hub in hubs:
        end_session(broker, hub.client_id)


@pytest.fixture
def new_agent(broker: tuple[str, int], tmp_path: Path) -> Iterator[NewAgent]:
    """Stream agents (not yet started), each with its own outbox file under the test's tmp_path."""
    agents: list[StreamAgent] = []
    site = f"s{uuid.uuid4().hex[:8]}"

    def new(name: str, total: int, *, rate: float = 40.0, via: tuple[str, int] | None = None) -> StreamAgent:
        agent = StreamAgent(
            agent_id=f"dlv/{site}/{name}",
            broker=via or broker,
            outbox=tmp_path / f"outbox-{name}.sqlite",
            log=tmp_path / f"agent-{name}.log",
            total=total,
            rate=rate,
        )
        agents.append(agent)
        return agent

    yield new
    for agent in agents:
        agent.stop()
