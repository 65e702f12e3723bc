"""Sessions in the app itself (real store, fresh database, the hub's clock replaced): idle and absolute
timeouts, Secure cookies over TLS, CSRF on every state-changing route, and the user CLI."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from web_harness import REPO, add_users, generated_user, hub_config

from hub.config import WebSection
from hub.stats import Stats
from hub.store import connect, migrate
from hub.store.webstore import WebStore
from hub.web import create_app

T0 = datetime(2026, 5, 17, 0, 30, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(pg_dsn: str) -> Iterator[WebStore]:
    conn = connect(pg_dsn, "web-tests")
    try:
        _, storage = migrate(conn)
    finally:
        conn.close()
    web_store = WebStore(pg_dsn, storage)
    web_store.open()
    try:
        yield web_store
    finally:
        web_store.close()


def app_with_clock(store: WebStore, clock: Clock, **web: object) -> FastAPI:
    app = create_app(store, Stats(), WebSection(**web))  # type: ignore[arg-type]
    app.state.ctx.clock = clock
    return app


def run(app: FastAPI, scenario: Callable[[httpx.AsyncClient], Awaitable[None]], base: str = "http://hub.test") -> None:
    async def go() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base) as client:
            await scenario(client)

    asyncio.run(go())


async def sign_in(client: httpx.AsyncClient, username: str, password: str) -> str:
    r = await client.post("/api/v1/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


def test_idle_and_absolute_timeouts(store: WebStore, pg_dsn: str):
    user = generated_user("provincial")
    add_users(pg_dsn, user)
    clock = Clock()
    app = app_with_clock(store, clock, session_idle_s=600, session_absolute_s=3600)

    async def scenario(client: httpx.AsyncClient) -> None:
        await sign_in(client, user.username, user.password)
        for _ in range(5):  # active every 9 minutes: the idle timeout never strikes
            clock.now += timedelta(minutes=9)
            assert (await client.get("/api/v1/me")).status_code == 200
        clock.now += timedelta(minutes=10, seconds=1)
        assert (await client.get("/api/v1/me")).status_code == 401, "idle too long"
        clock.now = T0
        await sign_in(client, user.username, user.password)
        for _ in range(6):
            clock.now += timedelta(minutes=9)
            assert (await client.get("/api/v1/me")).status_code == 200
        clock.now += timedelta(minutes=7)  # 61 minutes after signing in, active all along
        assert (await client.get("/api/v1/me")).status_code == 401, "the absolute limit holds"

    run(app, scenario)


@pytest.mark.parametrize(("base", "mode", "secure"), [
    ("https://hub.test", "auto", True),
    ("http://hub.test", "auto", False),
    ("http://hub.test", "always", True),
    ("https://hub.test", "never", False),
])  # fmt: skip
def test_secure_cookie_when_served_over_tls(store: WebStore, pg_dsn: str, base: str, mode: str, secure: bool):
    user = generated_user("admin")
    add_users(pg_dsn, user)
    app = app_with_clock(store, Clock(), secure_cookies=mode)

    async def scenario(client: httpx.AsyncClient) -> None:
        r = await client.post("/api/v1/session", json={"username": user.username, "password": user.password})
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=strict" in cookie
        assert ("; secure" in cookie) is secure

    run(app, scenario, base)


def state_changing_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every documented operation that is not a GET (the undocumented routes, pages and the unversioned
    API, are all GET)."""
    paths = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, ops in paths.items() for method in ops if method != "get")


def test_every_state_changing_route_needs_the_csrf_token(store: WebStore, pg_dsn: str):
    admin = generated_user("admin")
    add_users(pg_dsn, admin)
    app = app_with_clock(store, Clock())
    routes = state_changing_routes(app)
    assert {m for m, _ in routes} == {"POST"}
    assert [p for _, p in routes] == [
        "/api/v1/alerts/{alert_id}/acknowledge",
        "/api/v1/alerts/{alert_id}/silence",
        "/api/v1/gonogo/{city}/{site}/run",
        "/api/v1/session",
        "/api/v1/session/sign-out",
        "/api/v1/sites/{city}/{site}/arrival",
        "/api/v1/users",
        "/api/v1/users/{user_id}/disable",
        "/api/v1/users/{user_id}/enable",
        "/api/v1/users/{user_id}/password",
    ], "a new state-changing route: add it here, and it is checked below"

    async def scenario(client: httpx.AsyncClient) -> None:
        token = await sign_in(client, admin.username, admin.password)
        for method, path in routes:
            url = path.replace("{alert_id}", "1").replace("{user_id}", "1")
            if url == "/api/v1/session":
                r = await client.request(method, url, json={}, headers={"Origin": "http://evil.example"})
            else:
                r = await client.request(method, url, json={})
                assert r.json() == {"detail": "csrf.refused"}, url
            assert r.status_code == 403, url
            r = await client.request(
                method, url, json={}, headers={"X-CSRF-Token": token, "Origin": "http://evil.example"}
            )
            assert r.status_code == 403, url
        assert (await client.get("/api/v1/me")).status_code == 200, "none of that signed us out"

    run(app, scenario)


def test_user_cli(pg_dsn: str, mqtt: tuple[str, int], tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text(hub_config(mqtt, pg_dsn, 0), encoding="utf-8")

    def cli(*args: str, password: str = "") -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "hub.cli", "hub", "user", *args]
        return subprocess.run(argv, input=password, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)

    done = cli("add", "--config", str(config), "gen-cli-officer", "--role", "city", "--city", "jinan",
               "--password-stdin", password="pw-generated-cli-1\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "added user gen-cli-officer" in done.stdout
    assert cli("add", "--config", str(config), "gen-cli-officer", "--role", "admin", "--password-stdin",
               password="pw-generated-cli-1\n").returncode == 2, "name taken"  # fmt: skip
    bad = cli("add", "--config", str(config), "gen-cli-2", "--role", "city", "--password-stdin", password="pw-gen-3\n")
    assert (bad.returncode, "city" in bad.stderr) == (2, True)
    short = cli("add", "--config", str(config), "gen-cli-3", "--role", "admin", "--password-stdin", password="short\n")
    assert (short.returncode, "password" in short.stderr) == (2, True)
    assert cli("disable", "--config", str(config), "gen-cli-officer").returncode == 0
    assert cli("reset-password", "--config", str(config), "gen-cli-officer", "--password-stdin",
               password="pw-generated-cli-2\n").returncode == 0  # fmt: skip
    assert cli("disable", "--config", str(config), "gen-nobody").returncode == 2
    conn = connect(pg_dsn, "web-tests")
    try:
        from hub.store.users import user_by_name  # noqa: PLC0415

        user = user_by_name(conn, "GEN-CLI-OFFICER")
    finally:
        conn.close()
    assert user is not None
    assert user.disabled
    assert user.city == "jinan"
    assert "pw-generated" not in user.password_hash
