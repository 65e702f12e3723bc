"""The roster reaches the reader for real: ``sitewatch hub roster import`` into a real hub process, which
pushes the exam key and the site's rosters retained over Mosquitto; a real agent with an idcard-sam reader
on the pty simulator marks a listed card registered and an unlisted one not, keeps the roster in a 0600
file and, restarted without network, still marks reads.  No raw ID number reaches the database, the
broker, the CLI's output or the hub's log."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from idcard_helpers import SAM_BYTES
from test_idcard_privacy_agent import Capture, _pg_dump, leaks, secrets_of, texts_of_payload

from agent.config import AgentConfig, parse_config
from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.sim.cards import GeneratedCard
from agent.drivers.idcard.sim.model import SamModel
from agent.drivers.idcard.sim.pty import PtySamReader
from agent.outbox import SqliteOutbox
from agent.runner import AgentRunner
from hub.stack.process import free_port
from hub.store import connect
from protocol.codec import decode_up
from protocol.messages import Event, State

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "rules"))
from rules_harness import FAST_RULES, REPO, RulesHub, start_hub, unique_site, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def hub(mqtt: tuple[str, int], pg_dsn: str, tmp_path: Path) -> Iterator[RulesHub]:
    started = start_hub(mqtt, pg_dsn, tmp_path, free_port(), FAST_RULES)
    yield started
    code = started.stop()
    sys.stderr.write(f"--- hub log, exit {code} ---\n{started.log_text()}\n")
    assert code == 0


def agent_config(host: str, port: int, city: str, site: str, sim: PtySamReader) -> AgentConfig:
    return parse_config(
        {
            "agent": {"city": city, "site": site, "name": "a1", "heartbeat_s": 0.5, "state_interval_s": 1.0},
            "broker": {"host": host, "port": port, "reconnect_min_s": 0.1, "reconnect_max_s": 0.5},
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
                    "same_card_quiet_s": 0.0,
                }
            ],
        },
        "roster-e2e.toml",
    )


def import_roster(hub: RulesHub, text: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    path = workdir / "roster.csv"
    path.write_text(text, encoding="utf-8")
    argv = [sys.executable, "-m", "hub.cli", "hub", "roster", "import", str(path), "--config", str(hub.config)]
    return subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=60, check=False)


def exam_key(dsn: str, exam: str) -> CandidateKey:
    conn = connect(dsn, "roster-e2e")
    try:
        row = conn.execute("SELECT key FROM exam_keys WHERE exam = %s", (exam,)).fetchone()
    finally:
        conn.close()
    assert row is not None
    return CandidateKey(bytes(row[0]))


def checkins_in(capture: Capture, site: str) -> list[dict[str, Any]]:
    found = []
    for topic, body in capture.drain():
        if f"/{site}/" in topic and topic.endswith("/event"):
            doc = json.loads(body)
            if doc.get("name") == "idcard.checkin" and doc["details"]["result"] == "ok":
                found.append(doc["details"])
    return found


def read_card(sim: PtySamReader, card: GeneratedCard, seen: Any) -> dict[str, Any]:
    """Place the card, wait for its check-in (``seen`` lists them), take it away."""
    masked = card.number[:2] + "*" * 12 + card.number[-4:]
    before = len([c for c in seen() if c["masked"] == masked])
    sim.place(card)
    try:
        return wait_for(
            lambda: ([c for c in seen() if c["masked"] == masked][before:] or [None])[0], 15, "a check-in of the card"
        )
    finally:
        sim.remove()
        time.sleep(0.3)


def test_an_imported_roster_reaches_the_reader_and_survives_an_offline_restart(
    hub: RulesHub, mqtt: tuple[str, int], pg_dsn: str, cards: list[GeneratedCard], tmp_path: Path
) -> None:
    city, slug = unique_site()
    site = f"{city}/{slug}"
    listed, elsewhere, unlisted = cards[:2], cards[2], cards[3]
    rows = [f"gen-roster-exam,{site},101,{c.number}" for c in listed]
    rows += [f"gen-roster-exam,{site},102,{elsewhere.number}", f"gen-roster-exam,zibo/other,9,{cards[4].number}"]
    text = "exam,site,room,id_number\n" + "\n".join(rows) + "\n"

    capture = Capture(*mqtt)
    sim = PtySamReader(SamModel(SAM_BYTES), link=tmp_path / "ttySAM0", cards=cards)
    sim.start()
    outbox = tmp_path / "agent" / "outbox.sqlite"
    outbox.parent.mkdir()
    saved = outbox.with_name(f"roster-{city}-{slug}-a1.json")
    config = agent_config(*mqtt, city, slug, sim)
    runner = AgentRunner(config, outbox)
    runner.start()
    try:
        wait_for(lambda: runner.link.connected, 10, "the agent online")
        done = import_roster(hub, text, tmp_path)
        assert done.returncode == 0, done.stderr + done.stdout
        assert "exam gen-roster-exam" in done.stdout
        assert "4 candidate(s) in 3 room(s) at 2 site(s)" in done.stdout
        wait_for(lambda: runner.roster.roster is not None, 15, "the roster at the agent")
        held = runner.roster.roster
        assert held is not None
        key = exam_key(pg_dsn, "gen-roster-exam")
        assert held.room("101") == frozenset(key.digest(c.number) for c in listed)
        assert held.room("102") == frozenset({key.digest(elsewhere.number)})
        assert set(held.rooms) == {"101", "102"}  # not the other site's room
        assert stat.S_IMODE(saved.stat().st_mode) == 0o600

        def seen() -> list[dict[str, Any]]:
            return checkins_in(capture, site)

        got = read_card(sim, listed[0], seen)
        assert (got["registered"], got["candidate"]) == (True, key.digest(listed[0].number))
        assert read_card(sim, elsewhere, seen)["registered"] is False  # listed for room 102, read in 101
        assert read_card(sim, unlisted, seen)["registered"] is False
    finally:
        runner.stop()

    # Restarted with no network: the saved roster is in force, and a read is still marked.
    offline = AgentRunner(agent_config("127.0.0.1", free_port(), city, slug, sim), outbox)
    assert offline.roster.roster is not None
    assert offline.roster.roster.exam == "gen-roster-exam"
    offline.start()
    try:
        sim.place(listed[1])

        def offline_checkins() -> list[Event]:
            store = SqliteOutbox(outbox, config.outbox.capacity)
            try:
                records = [r for _, r in store.pending(limit=10_000) if r.boot == offline.boot]
            finally:
                store.close()
            messages = [decode_up(r.topic, r.payload)[1] for r in records if r.topic.endswith("/event")]
            return [m for m in messages if isinstance(m, Event) and m.name == "idcard.checkin"]

        event = wait_for(lambda: [e for e in offline_checkins() if e.details["result"] == "ok"], 15, "offline read")[0]
        assert event.details["registered"] is True
        assert event.details["candidate"] == key.digest(listed[1].number)
        sim.remove()
    finally:
        offline.stop()
        sim.close()
    store = SqliteOutbox(outbox, config.outbox.capacity)
    try:
        records = [r for _, r in store.pending(limit=10_000) if r.boot == offline.boot]
    finally:
        store.close()
    states = [decode_up(r.topic, r.payload)[1] for r in records if r.topic.endswith("/state")]
    reader = [d for m in states if isinstance(m, State) for d in m.devices if d.id == "reader-101"]
    assert reader[-1].details["key_source"] == "pushed"
    assert reader[-1].details["roster_size"] == 2

    # The raw numbers are nowhere: database, broker traffic, the import's output, the hub's log.
    messages = capture.drain()
    capture.close()
    secrets = secrets_of(cards[:5])  # the numbers, their middles, names and addresses
    dump = _pg_dump(pg_dsn)
    assert key.digest(cards[4].number).encode() in dump  # the scan saw the stored roster (never read: only there)
    assert leaks(texts_of_payload(dump), secrets) == []
    assert any(topic.endswith("/roster") for topic, _ in messages)
    assert leaks((t for _topic, payload in messages for t in texts_of_payload(payload)), secrets) == []
    assert leaks([done.stdout, done.stderr, hub.log_text()], secrets) == []
    assert "roster of exam gen-roster-exam" in hub.log_text()
