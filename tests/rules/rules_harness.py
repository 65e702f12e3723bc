"""A real hub with the rules engine, a fake agent speaking the wire protocol over paho, and calendars
built relative to now.

Everything here is generated test data: user names ``gen-…``, made-up passwords, candidate HMACs of random
bytes and masked numbers of no one.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.auth.passwords import Passwords
from hub.calendar import EXAM_TZ
from hub.store import connect, migrate
from hub.store import users as user_store
from protocol.codec import encode
from protocol.messages import Birth, DeviceInfo, DeviceState, Event, Heartbeat, Scalar, State

REPO = Path(__file__).resolve().parents[2]
FAST_HASHES = Passwords(time_cost=1, memory_cost=8 * 1024)
USER = "gen-rules-provincial"
PASSWORD = "pw-generated-rules-0001"

# Short hysteresis so each scenario runs in seconds; the defaults are in hub/config.py.
FAST_RULES: dict[str, float] = {
    "tick_s": 0.2,
    "settle_s": 0.0,
    "critical_after_s": 1.0,
    "warning_after_s": 1.0,
    "clear_after_s": 1.0,
    "vault_alone_after_s": 2.0,
    "vault_clear_after_s": 1.0,
    "gonogo_recheck_s": 1.0,
}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (OSError, httpx.HTTPError, KeyError, IndexError) as exc:
            last = exc
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")


def hub_config(mqtt: tuple[str, int], dsn: str, port: int, rules: dict[str, float], extra: str = "") -> str:
    lines = [
        "[hub]",
        'name = "rulestest"',
        "[mqtt]",
        f'host = "{mqtt[0]}"',
        f"port = {mqtt[1]}",
        f'client_id = "hub-rules-{uuid.uuid4().hex[:12]}"',
        "[database]",
        f"dsn = {json.dumps(dsn)}",
        "[http]",
        'host = "127.0.0.1"',
        f"port = {port}",
        "[rules]",
        *(f"{key} = {float(value)!r}" for key, value in rules.items()),
        extra,
    ]
    return "\n".join(lines) + "\n"


@dataclass
class RulesHub:
    proc: subprocess.Popen[bytes]
    url: str
    config: Path
    log: Path
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=10.0)

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")

    def sign_in(self) -> None:
        r = self.client.post("/api/v1/session", json={"username": USER, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.client.headers["X-CSRF-Token"] = r.json()["csrf_token"]

    def alerts(self, site: str, kind: str | None = None, state: str = "all") -> list[dict[str, Any]]:
        city, slug = site.split("/")
        r = self.client.get("/api/v1/alerts", params={"state": state, "city": city, "site": slug})
        assert r.status_code == 200, r.text
        found = r.json()["alerts"]
        return [a for a in found if kind is None or a["kind"] == kind]

    def open_alerts(self, site: str, kind: str | None = None) -> list[dict[str, Any]]:
        return [a for a in self.alerts(site, kind) if a["open"]]

    def import_calendar(self, text: str, workdir: Path) -> subprocess.CompletedProcess[str]:
        path = workdir / f"calendar-{uuid.uuid4().hex[:6]}.toml"
        path.write_text(text, encoding="utf-8")
        argv = [sys.executable, "-m", "hub.cli", "hub", "calendar", "import", str(path), "--config", str(self.config)]
        return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)

    def stop(self) -> int:
        self.client.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode


def add_user(dsn: str, username: str = USER, password: str = PASSWORD, city: str | None = None) -> None:
    conn = connect(dsn, "rules-tests")
    try:
        migrate(conn)
        created = user_store.create_user(conn, username=username, display_name="Generated officer",
                                         role="city" if city else "provincial", city=city,
                                         password_hash=FAST_HASHES.hash(password), now=datetime.now(UTC))  # fmt: skip
        assert created is not None
    finally:
        conn.close()


def start_hub(
    mqtt: tuple[str, int], dsn: str, workdir: Path, port: int, rules: dict[str, float], extra: str = ""
) -> RulesHub:
    """``extra``: more config after ``[rules]`` (e.g. ``[rules.health.outbox]`` tables)."""
    add_user(dsn)
    config = workdir / f"hub-{port}.toml"
    config.write_text(hub_config(mqtt, dsn, port, rules, extra), encoding="utf-8")
    log = workdir / f"hub-{port}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "hub", "--config", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    hub = RulesHub(proc, f"http://127.0.0.1:{port}", config, log)

    def healthy() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"hub exited with {proc.returncode}:\n{hub.log_text()}")
        return hub.client.get("/healthz").status_code == 200 and " running: " in hub.log_text()

    wait_for(healthy, 30, "the hub's /healthz")
    hub.sign_in()
    return hub


# --- a fake agent --------------------------------------------------------------------------------------------


class FakeAgent:
    """One agent's messages, built from the protocol models and published with QoS 1 (waiting for PUBACK)."""

    def __init__(self, mqtt: tuple[str, int], agent_id: str, devices: Iterable[DeviceInfo]) -> None:
        self.agent_id = agent_id
        self.devices = {d.id: d for d in devices}
        self.boot = uuid.uuid4().hex[:16]
        self.seq = 0
        self._lock = threading.Lock()
        self._client = paho.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"fake-{uuid.uuid4().hex[:10]}",
            protocol=paho.MQTTv5,
        )
        self._client.connect(mqtt[0], mqtt[1])
        self._client.loop_start()

    @property
    def site(self) -> str:
        return self.agent_id.rsplit("/", 1)[0]

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()

    def publish_raw(self, topic: str, payload: bytes, *, wait: bool = True) -> None:
        info = self._client.publish(topic, payload, qos=1)
        if not wait:
            return  # the hub acks only after its commit: while it cannot commit, nothing comes back
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"no PUBACK for {topic}"

    def _send(self, message: Birth | Heartbeat | State | Event, *, wait: bool = True) -> datetime:
        self.publish_raw(f"sw/v1/{self.agent_id}/{message.type}", encode(message), wait=wait)
        return datetime.now(UTC)

    def _next(self) -> tuple[int, datetime]:
        with self._lock:
            self.seq += 1
            return self.seq, datetime.now(UTC)

    def birth(self) -> None:
        now = datetime.now(UTC)
        self._send(Birth(agent=self.agent_id, boot=self.boot, seq=0, ts=now, sw_version="0.1.0", started_at=now,
                         heartbeat_s=5.0, devices=list(self.devices.values())))  # fmt: skip

    def heartbeat(
        self,
        outbox_depth: int = 0,
        *,
        outbox_capacity: int | None = None,
        clock_ahead_s: float = 0.0,
        wait: bool = True,
    ) -> None:
        """A heartbeat; ``clock_ahead_s`` sets the agent's clock that far ahead of the real time; ``wait``
        False does not wait for the hub's PUBACK."""
        seq, now = self._next()
        self._send(Heartbeat(agent=self.agent_id, boot=self.boot, seq=seq, ts=now + timedelta(seconds=clock_ahead_s),
                             uptime_s=float(seq), outbox_depth=outbox_depth,
                             outbox_capacity=outbox_capacity), wait=wait)  # fmt: skip

    def state(self, **devices: tuple[str, dict[str, Scalar]]) -> datetime:
        """Publish device states (``device_id=(status, details)``; ``_`` in a keyword stands for ``-``);
        returns when the broker had it."""
        seq, now = self._next()
        states = []
        for key, (status, details) in devices.items():
            info = self.devices[key.replace("_", "-")]
            states.append(DeviceState(kind=info.kind, id=info.id, status=status, details=details))  # type: ignore[arg-type]
        return self._send(State(agent=self.agent_id, boot=self.boot, seq=seq, ts=now, devices=states))

    def event(self, name: str, device: str | None, details: dict[str, Scalar], severity: str = "info") -> datetime:
        seq, now = self._next()
        return self._send(Event(agent=self.agent_id, boot=self.boot, seq=seq, ts=now, name=name,
                                severity=severity, device=device, details=details))  # type: ignore[arg-type]  # fmt: skip


# --- device states as the drivers report them ------------------------------------------------------------

JAMMER_ON: tuple[str, dict[str, Scalar]] = ("ok", {"band_gsm": "on", "band_lte": "on", "fault": False})
JAMMER_OFF: tuple[str, dict[str, Scalar]] = ("ok", {"band_gsm": "off", "band_lte": "off", "fault": False})
PROBE_SUPPRESSED: tuple[str, dict[str, Scalar]] = ("ok", {"verdict": "suppressed", "reason": "not registered"})
PROBE_SIGNAL: tuple[str, dict[str, Scalar]] = ("ok", {"verdict": "not_suppressed", "reason": "registered"})
READER_READY: tuple[str, dict[str, Scalar]] = ("ok", {"state": "ready", "sam_id": "gen-sam-0001"})
READER_ABSENT: tuple[str, dict[str, Scalar]] = ("offline", {"state": "absent", "error": "unplugged"})


def camera(people: int, *, problems: str = "") -> tuple[str, dict[str, Scalar]]:
    return ("ok" if not problems else "fault"), {
        "signal": "ok", "problems": problems, "tamper": "none", "tamper_checks": True, "baseline": True,
        "people": people, "snapshot": "",
    }  # fmt: skip


# --- calendars ---------------------------------------------------------------------------------------------


def local(at: datetime) -> str:
    """A TOML local date-time in Beijing time, whole seconds."""
    return at.astimezone(EXAM_TZ).replace(tzinfo=None, microsecond=0).isoformat()


def calendar_toml(
    sessions: list[dict[str, Any]],
    cities: Iterable[str],
    now: datetime,
    arrival_due: timedelta = timedelta(hours=-2),
    **top: int,
) -> str:
    """A calendar whose custody of each city runs from 3 h ago to 3 h from now (papers due ``arrival_due``
    from now); ``sessions`` are dicts of id, start, end (datetimes), rooms and optionally checkin_minutes."""
    lines = ["version = 1", *(f"{k} = {v}" for k, v in top.items()), "", "[[exams]]", 'id = "gen-exam"', ""]
    for s in sessions:
        rooms = ", ".join(json.dumps(r) for r in s["rooms"])
        lines += ["[[sessions]]", 'exam = "gen-exam"', f'id = "{s["id"]}"', f'paper = "Generated paper {s["id"]}"',
                  f"start = {local(s['start'])}", f"end = {local(s['end'])}",
                  f"checkin_minutes = {s.get('checkin_minutes', 0)}", f"rooms = [{rooms}]", ""]  # fmt: skip
    for city in cities:
        lines += ["[[custody]]", f'city = "{city}"', f"collection = {local(now - timedelta(hours=3))}",
                  f"arrival_due = {local(now + arrival_due)}", f"return = {local(now + timedelta(hours=3))}",
                  ""]  # fmt: skip
    return "\n".join(lines)


def unique_site() -> tuple[str, str]:
    """A fresh (city, site) pair: the session broker is shared with other tests."""
    return f"c{uuid.uuid4().hex[:6]}", f"s{uuid.uuid4().hex[:6]}"
