"""The web app against a fake store: routes, the status roll-up, 503s, and a self-contained dashboard."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime
from typing import Literal

import httpx
import pytest
from fastapi import FastAPI

from hub.errors import StoreUnavailable
from hub.stats import Stats
from hub.store.records import AgentRow, AlertRow, DeviceRow, SitesSnapshot, StorageInfo
from hub.web import create_app
from hub.web.tree import as_status, worst

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


@pytest.fixture
def fake() -> FakeQueries:
    return FakeQueries()


class Client:
    """Requests straight into the ASGI app (starlette's TestClient warns about its httpx dependency)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def get(self, path: str) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
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
    assert client.get("/api/sites").status_code == 503


@pytest.mark.parametrize("prefix", ["/api", "/api/v1"])
def test_sites_tree_with_worst_status(client: Client, prefix: str):
    body = client.get(f"{prefix}/sites").json()
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


@pytest.mark.parametrize("prefix", ["/api", "/api/v1"])
def test_alerts(client: Client, fake: FakeQueries, prefix: str):
    body = client.get(f"{prefix}/alerts").json()
    assert body["state"] == "open"
    assert body["alerts"][0]["kind"] == "agent_offline"
    assert body["alerts"][0]["open"] is True
    assert client.get(f"{prefix}/alerts?state=all").json()["state"] == "all"
    assert fake.asked == ["open", "all"]
    assert client.get(f"{prefix}/alerts?state=closed").status_code == 422


def test_dashboard_is_self_contained(client: Client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    script = client.get("/static/app.js")
    style = client.get("/static/style.css")
    assert script.status_code == style.status_code == 200
    for text in (page.text, script.text, style.text):
        assert not re.search(r"https?://", text), "no external URLs (CDNs) in the dashboard"
    assert "const UI = {" in script.text
    assert "Asia/Shanghai" in script.text
    for path in ("api/sites", "api/alerts"):
        assert path in script.text


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
