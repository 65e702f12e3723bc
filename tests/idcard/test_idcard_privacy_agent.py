"""Privacy end to end: a whole agent checks generated candidates in against a real Mosquitto, and nothing
it published, logged or stored holds a raw ID number, name or address.

Scanned: every message on ``#`` (raw bytes and every decoded JSON string, so ``\\uXXXX`` escapes do not
hide a name), every log record of the run at DEBUG (the agent's and the hub's: both run in this process),
the agent's outbox file (raw bytes and rows) and a ``pg_dump`` of the hub's database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import shutil
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from idcard_helpers import SAM_BYTES, today
from paho.mqtt.enums import CallbackAPIVersion

from agent.config import parse_config
from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.sim.cards import GeneratedCard
from agent.drivers.idcard.sim.model import Fault, SamModel
from agent.drivers.idcard.sim.pty import PtySamReader
from agent.drivers.idcard.sim.script import Script
from agent.runner import AgentRunner
from hub.app import Hub
from hub.config import HubConfig

KEY = b"privacy-test-generated-exam-key-01"


class Capture:
    """Everything the broker delivers on ``#``, raw."""

    def __init__(self, host: str, port: int) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.all: list[tuple[str, bytes]] = []
        subscribed: queue.Queue[bool] = queue.Queue()
        client = paho.Client(callback_api_version=CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
        client.on_connect = lambda c, _u, _f, _rc, _p: c.subscribe("#", qos=1)
        client.on_subscribe = lambda *_: subscribed.put(True)
        client.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        client.connect(host, port)
        client.loop_start()
        self._client = client
        subscribed.get(timeout=10)

    def drain(self) -> list[tuple[str, bytes]]:
        while True:
            try:
                self.all.append(self.messages.get_nowait())
            except queue.Empty:
                return self.all

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


@pytest.fixture
def capture(mqtt: tuple[str, int]) -> Iterator[Capture]:
    cap = Capture(*mqtt)
    yield cap
    cap.close()


def secrets_of(cards: Iterable[GeneratedCard]) -> list[str]:
    out = []
    for card in cards:
        # The middle of the number too: a leak of "all but the masked ends" is still a leak.
        out += [card.number, card.number[2:-4], card.name, card.address]
    return out


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def texts_of_payload(payload: bytes) -> list[str]:
    texts = [payload.decode("utf-8", errors="replace"), payload.decode("latin-1")]
    with contextlib.suppress(ValueError):  # not JSON: the raw decodings above still count
        texts += list(strings_in(json.loads(payload)))
    # A UTF-16LE leak of the text block would not show as UTF-8.
    texts.append(payload.decode("utf-16-le", errors="replace"))
    return texts


def leaks(texts: Iterable[str], secrets: list[str]) -> list[str]:
    return [secret for text in texts for secret in secrets if secret in text]


def test_the_scanner_finds_what_it_looks_for(cards: list[GeneratedCard]) -> None:
    secrets = secrets_of(cards[:1])
    escaped = json.dumps({"x": cards[0].name}).encode()  # "\u6d4b..." in the raw bytes
    assert leaks(texts_of_payload(escaped), secrets) == [cards[0].name]
    assert leaks(texts_of_payload(cards[0].address.encode("utf-16-le")), secrets) == [cards[0].address]
    assert leaks(texts_of_payload(b'{"n": "' + cards[0].number.encode() + b'"}'), secrets)


def _hub(mqtt: tuple[str, int], dsn: str) -> Hub:
    config = HubConfig.model_validate(
        {
            "hub": {"name": "privacy"},
            "mqtt": {"host": mqtt[0], "port": mqtt[1], "client_id": f"hub-privacy-{uuid.uuid4().hex[:8]}"},
            "database": {"dsn": dsn},
            "http": {"host": "127.0.0.1", "port": 0},
        }
    )
    hub = Hub(config)
    hub.start()
    return hub


def _pg_dump(dsn: str) -> bytes:
    pg_dump = next(Path("/usr/lib/postgresql").glob("*/bin/pg_dump"), None) or shutil.which("pg_dump")
    assert pg_dump, "pg_dump (Debian postgresql-client) is needed for the database scan"
    done = subprocess.run([str(pg_dump), "--data-only", "--dbname", dsn], capture_output=True, timeout=120, check=True)
    return done.stdout


def test_a_full_agent_run_leaks_no_identity(
    mqtt: tuple[str, int],
    pg_dsn: str,
    capture: Capture,
    cards: list[GeneratedCard],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    key = CandidateKey(KEY)
    (tmp_path / "exam.key").write_bytes(KEY)
    registered = cards[:5]
    (tmp_path / "room.roster").write_text("".join(key.digest(c.number) + "\n" for c in registered), "ascii")
    host, port = mqtt
    site = f"t{uuid.uuid4().hex[:8]}"
    faults = (Fault.SW3_41,)
    script = Script(cards=len(cards), card_every_s=0.4, dwell_s=0.3, faults=faults, fault_every_s=2.5, fault_for_s=0.4)
    sim = PtySamReader(SamModel(SAM_BYTES), link=tmp_path / "ttySAM0", script=script, cards=cards)
    config = parse_config(
        {
            "agent": {"city": "jinan", "site": site, "name": "a1", "heartbeat_s": 1.0, "state_interval_s": 1.0},
            "broker": {"host": host, "port": port},
            "outbox": {"path": str(tmp_path / "outbox.sqlite")},
            "devices": [
                {
                    "driver": "idcard-sam",
                    "id": "reader-101",
                    "room": "101",
                    "port": sim.path,
                    "hotplug": False,
                    "timeout_s": 0.2,
                    "find_interval_s": 0.03,
                    "retry_s": 0.2,
                    "key_file": str(tmp_path / "exam.key"),
                    "roster_file": str(tmp_path / "room.roster"),
                }
            ],
        },
        "privacy-test.toml",
    )
    hub = _hub(mqtt, pg_dsn)
    runner = AgentRunner(config, tmp_path / "outbox.sqlite")
    sim.start()
    runner.start()
    try:
        checkins = _wait_for_checkins(capture, site, want=len(cards))
        # Everything reached the hub's database: the hub confirmed it all and the outbox is empty.
        deadline = time.monotonic() + 20
        while runner.outbox.stats().depth > 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        runner.stop()
        sim.close()
        hub.stop()
    messages = capture.drain()

    # It did run: every generated card was checked in, by HMAC and masked number only.
    ok = [c for c in checkins if c["result"] == "ok"]
    by_candidate = {c["candidate"]: c for c in ok}
    for card in cards:
        got = by_candidate.get(key.digest(card.number))
        assert got is not None, f"no check-in for card {cards.index(card)}"
        assert got["masked"] == card.number[:2] + "*" * 12 + card.number[-4:]
        assert got["registered"] is (card in registered)
        assert got["expired"] is (card.valid_to is not None and card.valid_to < today())

    secrets = secrets_of(cards)
    assert leaks((t for _topic, payload in messages for t in texts_of_payload(payload)), secrets) == []
    log_texts = [r.getMessage() for r in caplog.records] + [r.exc_text or "" for r in caplog.records]
    log_texts += [repr(r.args) for r in caplog.records]
    assert any("reader-101" in t for t in log_texts)  # the scan did see the driver's logging
    assert leaks(log_texts, secrets) == []
    raw = (tmp_path / "outbox.sqlite").read_bytes()
    with sqlite3.connect(tmp_path / "outbox.sqlite") as db:
        rows = db.execute("SELECT topic, payload FROM outbox").fetchall()
    db.close()
    stored = texts_of_payload(raw) + [t for topic, payload in rows for t in [topic, *texts_of_payload(payload)]]
    assert leaks(stored, secrets) == []
    assert any("sitewatch.hub" in r.name for r in caplog.records)  # the hub's logging was scanned too
    dump = _pg_dump(pg_dsn)
    masked = cards[0].number[:2] + "*" * 12 + cards[0].number[-4:]
    assert masked.encode() in dump  # the hub did store the check-ins (masked), so the scan saw them
    assert leaks(texts_of_payload(dump), secrets) == []


def _wait_for_checkins(capture: Capture, site: str, want: int, timeout: float = 30.0) -> list[dict[str, Any]]:
    """Check-in events of this agent, until every card has had a successful one."""
    deadline = time.monotonic() + timeout
    seen: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        seen = []
        for topic, payload in capture.drain():
            if f"/{site}/" not in topic:
                continue
            body = json.loads(payload)
            if body.get("type") == "event" and body.get("name") == "idcard.checkin":
                seen.append(body["details"])
        if len({c["candidate"] for c in seen if c["result"] == "ok"}) >= want:
            return seen
        time.sleep(0.1)
    raise AssertionError(f"only {len(seen)} check-ins within {timeout} s: {seen}")
