"""The web app against a fake store: health, 503s, the status roll-up, and a self-contained dashboard."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI

from hub.errors import StoreUnavailable
from hub.stats import Stats
from hub.store.records import AgentRow, AlertRow, DeviceRow, SitesSnapshot, StorageInfo
from hub.web import create_app
from hub.web.app import STATIC_DIR
from hub.web.tree import alert_out, as_status, build_tree, worst

STATIC = Path(str(STATIC_DIR))

T = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)


def device(device_id: str, status: str, kind: str = "camera") -> DeviceRow:
    return DeviceRow(device_id, kind, "sim", "101", "", status, {"fps": 2}, T)


def agent(agent_id: str, online: bool, *devices: DeviceRow) -> AgentRow:
    city, site, name = agent_id.split("/")
    return AgentRow(agent_id, city, site, name, "b1", T, "0.1.0", online, None if online else "stale", T, devices)


SNAPSHOT = SitesSnapshot(
    agents=(
        agent("jinan/s01/a1", True, device("cam", "ok"), device("jam", "warning", "jammer")),
        agent("jinan/s02/a1", False, device("cam", "ok")),
        agent("qingdao/s01/a1", True),
    ),
    open_alerts={("jinan", "s02"): 1},
)
ALERT = AlertRow(
    1, "agent_offline:jinan/s02/a1", "agent_offline", "critical", "jinan", "s02", "jinan/s02/a1", None,
    "agent jinan/s02/a1 offline (stale)", {"reason": "stale"}, T, None,
)  # fmt: skip


class FakeQueries:
    def __init__(self) -> None:
        self.storage = StorageInfo("postgresql")
        self.down = False
        self.asked: list[str] = []

    def ping(self) -> None:
        if self.down:
            raise StoreUnavailable("connection refused")

    def sites(self) -> SitesSnapshot:
        self.ping()
        return SNAPSHOT

    def alerts(self, state: Literal["open", "all"]) -> list[AlertRow]:
        self.ping()
        self.asked.append(state)
        return [ALERT]

    def session(self, _token_hash: str) -> None:
        self.ping()  # the session lookup is the first thing a signed-in request reads


@pytest.fixture
def fake() -> FakeQueries:
    return FakeQueries()


class Client:
    """Requests straight into the ASGI app (starlette's TestClient warns about its httpx dependency)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self.cookies: dict[str, str] = {}

    def get(self, path: str) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test", cookies=self.cookies) as http:
                return await http.get(path)

        return asyncio.run(call())


@pytest.fixture
def client(fake: FakeQueries) -> Client:
    stats = Stats()
    stats.add("received", 3)
    stats.set_mqtt_connected(True)
    return Client(create_app(fake, stats))


def test_healthz_ok(client: Client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["mqtt"] is True
    assert body["storage"] == "postgresql"
    assert body["counters"]["received"] == 3


def test_healthz_503_when_database_unreachable(client: Client, fake: FakeQueries):
    fake.down = True
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("unreachable")
    client.cookies = {"sw_session": "some-token"}
    assert client.get("/api/sites").status_code == 503


def test_api_needs_a_session(client: Client):
    # The routes themselves (scope, roles, CSRF) are tested against a real hub in tests/web.
    for path in ("/api/sites", "/api/v1/sites", "/api/alerts", "/api/v1/alerts", "/api/v1/overview"):
        assert client.get(path).status_code == 401, path


def test_sites_tree_with_worst_status():
    body = build_tree(SNAPSHOT, T).model_dump(mode="json")
    cities = {c["city"]: c for c in body["cities"]}
    assert list(cities) == ["jinan", "qingdao"]
    jinan = cities["jinan"]
    assert jinan["status"] == "offline"
    assert jinan["open_alerts"] == 1
    s01, s02 = jinan["sites"]
    assert (s01["site_id"], s01["status"], s01["open_alerts"]) == ("jinan/s01", "warning", 0)
    assert (s02["site_id"], s02["status"], s02["open_alerts"]) == ("jinan/s02", "offline", 1)
    a1 = s01["agents"][0]
    assert a1["online"] is True
    assert a1["status"] == "warning"
    assert a1["boot"] == "b1"
    assert a1["sw_version"] == "0.1.0"
    assert [(d["id"], d["kind"], d["status"], d["room"]) for d in a1["devices"]] == [
        ("cam", "camera", "ok", "101"),
        ("jam", "jammer", "warning", "101"),
    ]
    assert s02["agents"][0]["offline_reason"] == "stale"
    assert cities["qingdao"]["status"] == "ok"  # an online agent without devices


def test_alert_out():
    out = alert_out(ALERT)
    assert (out.kind, out.open, out.city) == ("agent_offline", True, "jinan")


def test_dashboard_is_self_contained(client: Client):
    page = client.get("/sign-in")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    texts = [page.text, client.get("/static/style.css").text]
    for script in sorted((STATIC / "js").rglob("*.js")):
        response = client.get("/static/" + script.relative_to(STATIC).as_posix())
        assert response.status_code == 200, script
        texts.append(response.text)
    for text in texts:
        assert not re.search(r"https?://", text), "no external URLs (CDNs) in the dashboard"
    assert any("Asia/Shanghai" in text for text in texts)


def test_signed_out_page_goes_to_sign_in(client: Client):
    response = client.get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/sign-in?next=/"


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], "unknown"),
        (["ok"], "ok"),
        (["ok", "unknown"], "unknown"),
        (["unknown", "warning"], "warning"),
        (["warning", "fault", "ok"], "fault"),
        (["fault", "offline"], "offline"),
    ],
)
def test_worst(statuses: list[str], expected: str):
    assert worst((as_status(s) for s in statuses), "unknown") == expected


def test_unexpected_status_reads_as_unknown():
    assert as_status("exploded") == "unknown"
