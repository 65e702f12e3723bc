"""Fixtures for the alert store tests: a connection on a database migrated once per module and emptied
before each test (creating and migrating a database per test costs seconds)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from hub.alerts.model import FlapPolicy, KindPolicy
from hub.stack import Stack
from hub.store import Connection, connect, migrate
from hub.store.alerts import save_policies

FLAP = FlapPolicy(window_s=600.0, openings=3, calm_s=60.0)


def _create(stack: Stack, name: str) -> None:
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop(stack: Stack, name: str) -> None:
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def module_db(stack: Stack) -> Iterator[str]:
    name = f"tpl_alerts_{uuid.uuid4().hex}"
    _create(stack, name)
    try:
        c = connect(stack.admin_dsn(name), "sitewatch-alert-tests")
        try:
            migrate(c)
            save_policies(c, {"*": KindPolicy(0.0, FLAP), "vault_unobserved": KindPolicy(5.0, FLAP)})
        finally:
            c.close()
        yield name
    finally:
        _drop(stack, name)


@pytest.fixture
def alert_dsn(stack: Stack, module_db: str) -> str:
    """The module's database, emptied of alerts and everything hanging off them (the audit log stays:
    it refuses to be emptied)."""
    dsn = stack.admin_dsn(module_db)
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(
            "TRUNCATE alerts, alert_pending, silences, notifications, federation_inbox, duty_checkins, agents"
            " RESTART IDENTITY CASCADE"
        )
    return dsn


@pytest.fixture
def conn(alert_dsn: str) -> Iterator[Connection]:
    c = connect(alert_dsn, "sitewatch-alert-tests")
    try:
        yield c
    finally:
        c.close()
