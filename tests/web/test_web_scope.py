"""The scope matrix against a real hub: every role × every route, own city and the other city.

City duty officer (jinan) must get 404 for anything of qingdao, exactly as for what does not exist;
roles without a permission get 403; signed-out requests get 401 (pages: a redirect to sign-in).
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from web_harness import Deployment

OWN, OTHER = "jinan", "qingdao"


def alert_id(d: Deployment, city: str) -> int:
    with d.signed_in("provincial") as c:
        alerts = c.get("/api/v1/alerts", params={"city": city}).json()["alerts"]
    assert len(alerts) == 1
    return int(alerts[0]["id"])


def reads(city: str, alert: int) -> list[str]:
    return [
        f"/api/v1/sites/{city}/s01",
        f"/api/v1/sites/{city}/s01/snapshots/vault-cam-1",
        f"/api/v1/alerts/{alert}",
        f"/sites/{city}/s01",
    ]


# role → what it gets for (own city object, other city object)
READ_EXPECTED = {"city": (200, 404), "provincial": (200, 200), "admin": (200, 200)}


@pytest.mark.parametrize("role", ["city", "provincial", "admin"])
def test_reads_by_id_are_scoped(deployment: Deployment, role: str):
    own_alert, other_alert = alert_id(deployment, OWN), alert_id(deployment, OTHER)
    own_expected, other_expected = READ_EXPECTED[role]
    with deployment.signed_in(role) as c:
        for path in reads(OWN, own_alert):
            assert c.get(path).status_code == own_expected, path
        for path in reads(OTHER, other_alert):
            response = c.get(path)
            assert response.status_code == other_expected, path
            if other_expected == 404 and path.startswith("/api/"):
                assert response.json() == {"detail": "not_found"}, "same answer as for nothing at all"
        # Something that exists nowhere answers the same 404 as another city's object.
        assert c.get("/api/v1/sites/jinan/s99").status_code == 404
        assert c.get("/api/v1/alerts/999999").status_code == 404


def cities_in(body: Any) -> set[str]:
    if "cities" in body:
        return {c["city"] for c in body["cities"]}
    return {a["city"] for a in body["alerts"]}


@pytest.mark.parametrize("role", ["city", "provincial", "admin"])
def test_lists_are_scoped(deployment: Deployment, role: str):
    expected = {OWN} if role == "city" else {OWN, OTHER}
    with deployment.signed_in(role) as c:
        for path in ("/api/v1/overview", "/api/v1/sites", "/api/sites", "/api/v1/alerts", "/api/alerts"):
            response = c.get(path)
            assert response.status_code == 200, path
            assert cities_in(response.json()) == expected, path
        asked_other = c.get("/api/v1/alerts", params={"city": OTHER}).json()["alerts"]
        assert [a["city"] for a in asked_other] == ([] if role == "city" else [OTHER])


def test_acknowledge_and_silence_matrix(deployment: Deployment):
    own_alert, other_alert = alert_id(deployment, OWN), alert_id(deployment, OTHER)
    body = {"comment": "生成的测试备注：已电话联系考点"}
    with deployment.signed_in("city") as city, deployment.signed_in("admin") as admin:
        # other city: 404 and nothing recorded
        assert city.post(f"/api/v1/alerts/{other_alert}/acknowledge", json=body).status_code == 404
        assert city.post(f"/api/v1/alerts/{other_alert}/silence", json={"minutes": 30}).status_code == 404
        # administrators read but do not act
        assert admin.post(f"/api/v1/alerts/{own_alert}/acknowledge", json=body).status_code == 403
        assert admin.post(f"/api/v1/alerts/{own_alert}/silence", json={"minutes": 30}).status_code == 403
        # own city: recorded with the person's name
        done = city.post(f"/api/v1/alerts/{own_alert}/acknowledge", json=body)
        assert done.status_code == 200, done.text
        assert done.json()["acknowledged_by"] == deployment.users["city"].username
        assert done.json()["ack_comment"] == body["comment"]
        assert city.post(f"/api/v1/alerts/{own_alert}/acknowledge", json=body).status_code == 409
        assert city.post(f"/api/v1/alerts/{own_alert}/silence", json={"minutes": 30}).status_code == 200
        assert city.post(f"/api/v1/alerts/{own_alert}/acknowledge", json={"comment": "  "}).status_code == 422
    with deployment.signed_in("provincial") as prov:
        assert prov.get(f"/api/v1/alerts/{other_alert}").json()["acknowledged_at"] is None
        assert prov.post(f"/api/v1/alerts/{other_alert}/silence", json={"minutes": 15}).status_code == 200


ADMIN_ONLY = [
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/users", {"username": "gen-nobody", "role": "provincial", "password": "pw-generated-0001"}),
    ("POST", "/api/v1/users/1/disable", {}),
    ("POST", "/api/v1/users/1/enable", {}),
    ("POST", "/api/v1/users/1/password", {"password": "pw-generated-0002"}),
    ("GET", "/users", None),
]
AUDITORS = [("GET", "/api/v1/audit", None), ("GET", "/audit", None)]


@pytest.mark.parametrize("role", ["city", "provincial"])
def test_administration_is_refused_to_duty_officers(deployment: Deployment, role: str):
    with deployment.signed_in(role) as c:
        for method, path, body in ADMIN_ONLY:
            assert c.request(method, path, json=body).status_code == 403, (method, path)
        for method, path, body in AUDITORS:
            expected = 200 if role == "provincial" else 403
            assert c.request(method, path, json=body).status_code == expected, path


EVERY_ROUTE = [
    ("GET", "/api/v1/me"),
    ("GET", "/api/v1/overview"),
    ("GET", "/api/v1/sites"),
    ("GET", "/api/sites"),
    ("GET", "/api/v1/sites/jinan/s01"),
    ("GET", "/api/v1/sites/jinan/s01/snapshots/vault-cam-1"),
    ("GET", "/api/v1/alerts"),
    ("GET", "/api/alerts"),
    ("GET", "/api/v1/alerts/1"),
    ("POST", "/api/v1/alerts/1/acknowledge"),
    ("POST", "/api/v1/alerts/1/silence"),
    ("GET", "/api/v1/users"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/users/1/disable"),
    ("POST", "/api/v1/users/1/enable"),
    ("POST", "/api/v1/users/1/password"),
    ("GET", "/api/v1/audit"),
    ("GET", "/api/v1/calendar"),
    ("GET", "/api/v1/gonogo"),
    ("GET", "/api/v1/live"),
    ("POST", "/api/v1/session/sign-out"),
]
PAGES = ["/", "/wall", "/alerts", "/calendar", "/gonogo", "/users", "/audit", "/sites/jinan/s01"]


def test_signed_out_is_refused_everywhere(deployment: Deployment):
    with httpx.Client(base_url=deployment.hub.url, timeout=10) as c:
        for method, path in EVERY_ROUTE:
            assert c.request(method, path, json={}).status_code == 401, (method, path)
        for path in PAGES:
            r = c.get(path)
            assert r.status_code == 303, path
            assert r.headers["location"].startswith("/sign-in?next=")
        # What stays public: health, the sign-in page and the catalogues it needs, the API description.
        for path in ("/healthz", "/sign-in", "/api/v1/i18n/zh-CN", "/api/v1/openapi.json"):
            assert c.get(path).status_code == 200, path
        c.cookies.set("sw_session", "made-up-token")
        assert c.get("/api/v1/overview").status_code == 401


def test_cross_origin_and_tokenless_posts_are_refused(deployment: Deployment):
    alert = alert_id(deployment, OWN)
    path = f"/api/v1/alerts/{alert}/silence"
    with deployment.signed_in("city") as c:
        token = c.headers.pop("X-CSRF-Token")
        assert c.post(path, json={"minutes": 5}).json() == {"detail": "csrf.refused"}
        evil = {"Origin": "http://evil.example", "X-CSRF-Token": token}
        r = c.post(path, json={"minutes": 5}, headers=evil)
        assert (r.status_code, r.json()["field"]) == (403, "origin")
        form = {"Content-Type": "application/x-www-form-urlencoded", "X-CSRF-Token": token}
        assert c.post(path, content=b"minutes=5", headers=form).status_code == 403
        assert c.post(path, json={"minutes": 5}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
        same_origin = {"Origin": deployment.hub.url, "X-CSRF-Token": token}
        assert c.post(path, json={"minutes": 5}, headers=same_origin).status_code == 200
    with httpx.Client(base_url=deployment.hub.url, timeout=10) as anon:
        r = anon.post(
            "/api/v1/session", json={"username": "x", "password": "y"}, headers={"Origin": "http://evil.example"}
        )
        assert r.status_code == 403, "no sign-in from another site (login CSRF)"
    with deployment.signed_in("admin") as admin:
        entries = admin.get("/api/v1/audit").json()["entries"]
    assert any(e["action"] == "csrf" and e["outcome"] == "refused" for e in entries)


def test_disabled_user_is_out_at_once(deployment: Deployment):
    password = "pw-generated-disable-me"
    with deployment.signed_in("admin") as admin:
        created = admin.post("/api/v1/users", json={"username": "gen-to-disable", "role": "city", "city": OWN,
                                                    "password": password})  # fmt: skip
        assert created.status_code == 201, created.text
        user_id = created.json()["id"]
        with deployment.hub.client() as victim:
            r = victim.post("/api/v1/session", json={"username": "gen-to-disable", "password": password})
            assert r.status_code == 200
            assert victim.get("/api/v1/overview").status_code == 200
            with victim.stream("GET", "/api/v1/live") as live:
                lines = live.iter_lines()
                assert next(lines) == "retry: 1000"
                assert admin.post(f"/api/v1/users/{user_id}/disable", json={}).status_code == 200
                assert victim.get("/api/v1/overview").status_code == 401, "the very next request is refused"
                assert "event: signed_out" in list(lines), "the open live stream ends too"
            again = victim.post("/api/v1/session", json={"username": "gen-to-disable", "password": password})
            assert again.status_code == 401
        assert admin.post(f"/api/v1/users/{admin_id(admin)}/disable", json={}).status_code == 409


def admin_id(c: httpx.Client) -> int:
    return int(c.get("/api/v1/me").json()["user_id"])


def test_sign_in_rotates_and_sign_out_revokes(deployment: Deployment):
    user = deployment.users["provincial"]
    with deployment.hub.client() as c:
        c.post("/api/v1/session", json={"username": user.username, "password": user.password})
        first = c.cookies["sw_session"]
        set_cookie = c.post("/api/v1/session", json={"username": user.username, "password": user.password})
        second = c.cookies["sw_session"]
        assert first != second
        header = set_cookie.headers["set-cookie"].lower()
        assert "httponly" in header
        assert "samesite=strict" in header
        assert "secure" not in header
        with deployment.hub.client() as stale:
            stale.cookies.set("sw_session", first)
            assert stale.get("/api/v1/me").status_code == 401, "the session before sign-in was revoked"
        csrf = c.get("/api/v1/me").json()["csrf_token"]
        assert c.post("/api/v1/session/sign-out", json={}, headers={"X-CSRF-Token": csrf}).status_code == 204
        with deployment.hub.client() as after:
            after.cookies.set("sw_session", second)
            assert after.get("/api/v1/me").status_code == 401


def test_sign_in_is_rate_limited_and_audited(deployment: Deployment):
    user = deployment.users["city_other"]
    with deployment.hub.client() as c:
        for _ in range(3):
            assert (
                c.post("/api/v1/session", json={"username": user.username, "password": "wrong-pw-1"}).status_code == 401
            )
        limited = c.post("/api/v1/session", json={"username": user.username, "password": user.password})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        unknown = c.post("/api/v1/session", json={"username": "gen-nobody-at-all", "password": "whatever-1"})
        assert unknown.json() == {"detail": "sign_in.invalid"}, "unknown names answer like wrong passwords"
    with deployment.signed_in("admin") as admin:
        entries = admin.get("/api/v1/audit").json()["entries"]
    outcomes = {(e["action"], e["outcome"]) for e in entries if e["username"] == user.username}
    assert {("sign_in", "failed"), ("sign_in", "limited")} <= outcomes
    refused = [e for e in entries if e["action"] == "authorise" and e["outcome"] == "refused"]
    assert any(e["target"].startswith("site qingdao/") for e in refused), "out-of-scope asks are audited"
