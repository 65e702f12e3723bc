"""Pure parts of sign-in and the dashboard: roles and scope, session timeouts, CSRF and origin rules, the
sign-in rate limit, password hashing, the site colour, the language catalogues and the [web] config."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hub.auth.csrf import is_json, origin_allowed, origin_of
from hub.auth.passwords import Passwords, password_problem
from hub.auth.ratelimit import Limits, SignInLimiter
from hub.auth.roles import Principal, check_user_fields
from hub.auth.sessions import SessionPolicy
from hub.auth.tokens import new_token, same_token, token_hash
from hub.config import parse_config
from hub.errors import HubConfigError
from hub.i18n import LANGUAGES, Catalogues, catalogue_problems, negotiate
from hub.store.dashboard import SiteSummaryRow
from hub.web.views import site_status

T = datetime(2026, 5, 17, 1, 0, tzinfo=UTC)
STATIC = Path(__file__).resolve().parents[2] / "hub" / "web" / "static"


def principal(role: str, city: str | None = None) -> Principal:
    return Principal(1, "gen-user", "", role, city)  # type: ignore[arg-type]


def test_scope_and_permissions():
    city = principal("city", "jinan")
    assert (city.scope, city.sees("jinan"), city.sees("qingdao")) == ("jinan", True, False)
    assert city.may("act_on_alerts")
    assert not city.may("manage_users")
    assert not city.may("read_audit")
    prov = principal("provincial")
    assert (prov.scope, prov.sees("qingdao")) == (None, True)
    assert prov.may("read_audit")
    assert prov.may("act_on_alerts")
    assert not prov.may("manage_users")
    admin = principal("admin")
    assert admin.may("manage_users")
    assert admin.may("read_sites")
    assert not admin.may("act_on_alerts")


@pytest.mark.parametrize(
    ("username", "role", "city", "problem"),
    [
        ("gen-ok", "city", "jinan", None),
        ("gen-ok", "provincial", None, None),
        ("gen-ok", "city", None, "city"),
        ("gen-ok", "city", "Jinan!", "city"),
        ("gen-ok", "admin", "jinan", "city"),
        ("gen-ok", "root", None, "role"),
        ("x", "admin", None, "username"),
        ("gen ok", "admin", None, "username"),
    ],
)
def test_user_fields(username: str, role: str, city: str | None, problem: str | None):
    found = check_user_fields(username, role, city)
    assert (found.split(":")[0] if found else None) == problem


def test_session_policy():
    policy = SessionPolicy(idle_s=600, absolute_s=3600)
    expires = policy.expires_at(T)
    judge = lambda now, seen, **kw: policy.judge(  # noqa: E731
        now=now,
        last_seen=seen,
        expires_at=expires,
        revoked=kw.get("revoked", False),
        disabled=kw.get("disabled", False),
    )
    assert judge(T + timedelta(seconds=599), T) == "ok"
    assert judge(T + timedelta(seconds=600), T) == "idle"
    assert judge(T + timedelta(seconds=3599), T + timedelta(seconds=3500)) == "ok"
    assert judge(T + timedelta(seconds=3600), T + timedelta(seconds=3599)) == "expired", "activity never extends it"
    assert judge(T, T, revoked=True) == "revoked"
    assert judge(T, T, disabled=True) == "disabled"
    assert not policy.should_touch(now=T + timedelta(seconds=59), last_seen=T)
    assert policy.should_touch(now=T + timedelta(seconds=60), last_seen=T)


def test_tokens():
    a, b = new_token(), new_token()
    assert a != b
    assert len(a) >= 43
    assert token_hash(a) != a
    assert len(token_hash(a)) == 64
    assert same_token(a, a)
    assert not same_token(b, a)
    assert not same_token(None, a)


@pytest.mark.parametrize(
    ("origin", "referer", "ok"),
    [
        (None, None, True),  # not a browser: the CSRF token decides
        ("http://hub.test:8080", None, True),
        ("HTTP://HUB.TEST:8080", None, True),
        ("http://evil.example", None, False),
        ("null", None, False),
        ("https://hub.test:8080", None, False),  # another scheme is another origin
        (None, "http://hub.test:8080/alerts", True),
        (None, "http://evil.example/x", False),
        ("https://desk.example", None, True),  # allowed explicitly
    ],
)
def test_origin_rules(origin: str | None, referer: str | None, ok: bool):
    allowed = frozenset({"https://desk.example"})
    assert origin_allowed(origin=origin, referer=referer, own="http://hub.test:8080", allowed=allowed) is ok


def test_origin_of_and_json():
    assert origin_of("https://a.example:8443/path?q") == "https://a.example:8443"
    assert origin_of("javascript:alert(1)") is None
    assert is_json("application/json; charset=utf-8")
    assert not is_json("text/plain")
    assert not is_json(None)
    assert not is_json("application/x-www-form-urlencoded")


def test_rate_limit_per_user_and_per_client():
    limiter = SignInLimiter(Limits(per_user=3, per_client=5, window_s=60))
    for i in range(3):
        assert limiter.retry_after("gen-a", "10.0.0.1", i) == 0
        limiter.failed("gen-a", "10.0.0.1", i)
    assert limiter.retry_after("GEN-A", "10.0.0.2", 3) == pytest.approx(57), "names compare case-insensitively"
    assert limiter.retry_after("gen-a", "10.0.0.1", 60.5) == 0, "the window slides"
    limiter.succeeded("gen-a")
    assert limiter.retry_after("gen-a", "10.0.0.9", 3) == 0, "a success clears the name's failures"
    spray = SignInLimiter(Limits(per_user=3, per_client=5, window_s=60))
    for i in range(5):
        spray.failed(f"gen-other-{i}", "10.0.0.1", 10)
    assert spray.retry_after("gen-fresh", "10.0.0.1", 11) == pytest.approx(59), "one address guessing many names"
    assert spray.retry_after("gen-fresh", "10.0.0.2", 11) == 0


def test_rate_limit_memory_is_bounded():
    limiter = SignInLimiter(Limits(), max_keys=10)
    for i in range(100):
        limiter.failed(f"gen-{i}", "10.0.0.1", float(i))
    assert len(limiter._failures) <= 11


def test_passwords():
    hasher = Passwords(time_cost=1, memory_cost=8 * 1024)
    stored = hasher.hash("pw-generated-001")
    assert stored.startswith("$argon2id$")
    assert hasher.verify(stored, "pw-generated-001").ok
    assert not hasher.verify(stored, "pw-generated-002").ok
    assert not hasher.verify(None, "pw-generated-001").ok, "unknown user: verified against a decoy, refused"
    assert not hasher.verify("not-a-hash", "x").ok
    assert Passwords().verify(stored, "pw-generated-001").needs_rehash, "cheap test hashes are upgraded"
    assert password_problem("short")
    assert password_problem(" padded-password ")
    assert password_problem("x" * 300)
    assert password_problem("long-enough-1") is None


def summary(agents: int, offline: int, **statuses: int) -> SiteSummaryRow:
    return SiteSummaryRow("jinan", "s01", agents, offline, statuses, sum(statuses.values()), 0, 0, 0)


def test_site_colour():
    assert site_status(summary(0, 0)) == "unknown"
    assert site_status(summary(1, 0)) == "ok"
    assert site_status(summary(1, 0, ok=40, warning=2)) == "warning"
    assert site_status(summary(2, 1, ok=40)) == "offline"
    assert site_status(summary(1, 0, ok=3, exploded=1)) == "unknown"
    assert site_status(summary(1, 0, fault=1, warning=0)) == "fault"


# --- language ----------------------------------------------------------------------------------------


def test_catalogues_agree():
    catalogues = Catalogues()
    assert catalogue_problems({lang: catalogues.get(lang) for lang in LANGUAGES}) == []
    assert catalogues.text("zh-CN", "overview.sites", n=3) == "3 个考点"
    assert catalogues.text("en", "overview.sites", n=3) == "3 sites"
    assert catalogue_problems({"a": {"k": "{n} x"}, "b": {"k": "{m} y", "z": ""}}) == [
        "a: missing z",
        "k: placeholders differ: {'a': {'n'}, 'b': {'m'}}",
    ]


def test_every_key_the_pages_use_exists():
    scripts = "\n".join(p.read_text(encoding="utf-8") for p in STATIC.rglob("*.js"))
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    keys = set(re.findall(r"""\bt\(\s*["']([a-z_.\-A-Z]+)["']""", scripts))
    keys |= set(re.findall(r'data-i18n="([^"]+)"', html))
    keys |= set(
        re.findall(r"""["']((?:nav|page|users|audit|alerts|site|timeline|calendar|gonogo)\.[a-z_.]+)["']""", scripts)
    )
    catalogues = Catalogues()
    for lang in LANGUAGES:
        missing = sorted(k for k in keys if k not in catalogues.get(lang))
        assert missing == [], f"{lang} lacks {missing}"


def test_no_text_hard_coded_in_pages():
    cjk = re.compile(r"[\u3400-\u9fff]")
    for path in [*STATIC.rglob("*.js"), STATIC / "index.html"]:
        text = path.read_text(encoding="utf-8")
        assert not cjk.search(text), f"{path.name}: Chinese text belongs in the catalogue"
    html = (STATIC / "index.html").read_text(encoding="utf-8")
    visible = re.sub(r"<[^>]+>|\{\{[a-z]+\}\}", "", html)
    assert visible.split() == [], "the shell has no text of its own"


@pytest.mark.parametrize(
    ("cookie", "accept", "expected"),
    [
        (None, None, "zh-CN"),
        ("en", "zh-CN,zh;q=0.9", "en"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "zh-TW", "zh-CN"),
        (None, "fr-FR, en;q=0.5", "en"),
        ("xx", "de", "zh-CN"),
    ],
)
def test_language_negotiation(cookie: str | None, accept: str | None, expected: str):
    assert negotiate(cookie, accept) == expected


# --- config ------------------------------------------------------------------------------------------

BASE = {"hub": {}, "mqtt": {"host": "127.0.0.1"}, "database": {"dsn": "postgresql://x"}}


def test_web_section_defaults_and_values():
    config = parse_config(dict(BASE), "hub.toml")
    assert (config.web.default_language, config.web.secure_cookies) == ("zh-CN", "auto")
    web = {"session_idle_s": 900, "session_absolute_s": 3600, "allowed_origins": ["https://desk.example"]}
    assert parse_config({**BASE, "web": web}, "hub.toml").web.allowed_origins == ["https://desk.example"]


@pytest.mark.parametrize(
    ("web", "key"),
    [
        ({"session_idle_s": 7200, "session_absolute_s": 60}, "web"),
        ({"secure_cookies": "sometimes"}, "web.secure_cookies"),
        ({"allowed_origins": ["https://desk.example/path"]}, "web.allowed_origins.0"),
        ({"default_language": "fr"}, "web.default_language"),
        ({"session_timeout": 5}, "web.session_timeout"),
    ],
)
def test_web_section_errors_name_the_key(web: dict[str, object], key: str):
    with pytest.raises(HubConfigError) as info:
        parse_config({**BASE, "web": web}, "hub.toml")
    assert info.value.key == key
