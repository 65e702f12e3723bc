"""Dashboard fixtures: one real hub per test module on its own database, with generated users of every
role and two cities of simulated sites (jinan = own city, qingdao = the other one)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from web_harness import Deployment, add_users, generated_user, running_hub, seed_sites

from hub.stack import Stack
from hub.stack.process import free_port

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@pytest.fixture(scope="module")
def module_dsn(stack: Stack) -> Iterator[str]:
    name = f"test_web_{uuid.uuid4().hex}"
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield stack.admin_dsn(name)
    finally:
        with psycopg.connect(stack.admin_dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def deployment(stack: Stack, module_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    users = {
        "city": generated_user("city", "jinan"),
        "city_other": generated_user("city", "qingdao"),
        "provincial": generated_user("provincial"),
        "admin": generated_user("admin"),
    }
    mqtt = (stack.info.mqtt_host, stack.info.mqtt_port)
    add_users(module_dsn, *users.values())
    workdir = tmp_path_factory.mktemp("webhub")
    with running_hub(mqtt, module_dsn, workdir, free_port(), live_ping_s=0.5, sign_in_failures_per_user=3) as hub:
        agents = seed_sites(hub, mqtt, users["provincial"])
        yield Deployment(hub, mqtt, module_dsn, users, agents)


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
