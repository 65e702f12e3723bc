"""Processes and the exactly-once check for the delivery fault tests.

- :class:`HubProcess`: ``sitewatch hub`` as a real process that can be SIGKILLed and started again
  with the same config (same MQTT client id: the broker resumes its persistent session);
- :class:`StreamAgent`: ``stream_agent.py`` as a real process on an outbox file that outlives it;
- :func:`check_stream`: what the database holds for one stream agent, and every way it falls short
  of "each message stored exactly once".
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from agent.outbox import SqliteOutbox
from protocol.codec import encode
from protocol.messages import Birth, Event, Heartbeat
from protocol.topics import AgentPath, topic_for

REPO = Path(__file__).resolve().parents[2]
STREAM_AGENT = Path(__file__).with_name("stream_agent.py")
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last: {last!r})")


def tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(text.splitlines()[-lines:])


# --- hub ------------------------------------------------------------------------------------------


def hub_toml(
    *,
    name: str,
    client_id: str,
    mqtt: tuple[str, int],
    dsn: str,
    shared_group: str | None = None,
    session_expiry_s: int = 600,
) -> str:
    lines = [
        "[hub]",
        f'name = "{name}"',
        "[mqtt]",
        f'host = "{mqtt[0]}"',
        f"port = {mqtt[1]}",
        f'client_id = "{client_id}"',
        f"session_expiry_s = {session_expiry_s}",
        *([f'shared_group = "{shared_group}"'] if shared_group else []),
        "[database]",
        f"dsn = {json.dumps(dsn)}",
        "[http]",
        'host = "127.0.0.1"',
        "port = 0",
        "[liveness]",
        "offline_after_s = 3.0",
        "sweep_s = 0.5",
        # Short, so gaps are found, resent and closed within a test.
        "[delivery]",
        "gap_timeout_s = 2.0",
        "gap_check_s = 0.5",
        "resend_every_s = 2.0",
        "gap_window_s = 600.0",
    ]
    return "\n".join(lines) + "\n"


@dataclass
class HubProcess:
    name: str
    client_id: str
    config: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 30.0) -> None:
        assert not self.alive, f"hub {self.name} is already running"
        before = self._running_lines()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "hub", "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=REPO,
                env=ENV,
            )
        self.starts += 1
        proc = self.proc

        def running() -> bool:
            if proc.poll() is not None:
                raise AssertionError(f"hub {self.name} exited with {proc.returncode}:\n{tail(self.log)}")
            return self._running_lines() > before

        wait_for(running, timeout, f"hub {self.name} to run")

    def kill(self) -> None:
        """SIGKILL: no goodbye to the broker, no last batch, the session left as it was."""
        assert self.proc is not None
        assert self.alive, f"hub {self.name} is not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.kills += 1

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        return self.proc.returncode

    @property
    def url(self) -> str:
        """The dashboard's address (the hub was given port 0 and logs the one it got)."""
        found = re.findall(r"dashboard (http://\S+/)", self.log.read_text(encoding="utf-8", errors="replace"))
        assert found, f"hub {self.name} has not logged its address"
        return str(found[-1])

    def counters(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "healthz", timeout=5) as resp:
            counters: dict[str, Any] = json.loads(resp.read())["counters"]
        return counters

    def _running_lines(self) -> int:
        try:
            return self.log.read_text(encoding="utf-8", errors="replace").count(" running: storage")
        except FileNotFoundError:
            return 0


def end_session(broker: tuple[str, int], client_id: str, timeout: float = 5.0) -> None:
    """Connect as ``client_id`` with a clean start and no expiry: the broker forgets that persistent session.

    Otherwise a hub's session would outlive its test and queue every later test's messages.
    """
    connected = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.on_connect = lambda *_args: connected.set()
    client.connect(broker[0], broker[1], clean_start=True)
    client.loop_start()
    try:
        connected.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()


def publish_backlog(broker: tuple[str, int], agents: list[str], per_agent: int) -> dict[str, str]:
    """Publish, as ``agents``, a birth and then seqs 1 … ``per_agent`` (heartbeats and events) at QoS 1.

    Round-robin over the agents, as a broker sees a fleet; returns each agent's boot.  Waits for every
    PUBACK, so the broker holds the whole backlog when this returns.
    """
    now = datetime.now(UTC)
    boots = {agent: uuid.uuid4().hex[:16] for agent in agents}
    acked = threading.Semaphore(0)
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"backlog-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5)
    client.on_publish = lambda *_args: acked.release()
    client.max_inflight_messages_set(500)
    client.connect(broker[0], broker[1])
    client.loop_start()
    sent = 0
    try:
        for seq in range(per_agent + 1):
            for agent in agents:
                path = AgentPath.from_agent_id(agent)
                boot, ts = boots[agent], now + timedelta(milliseconds=seq)
                message: Birth | Heartbeat | Event
                if seq == 0:
                    message = Birth(
                        agent=agent,
                        boot=boot,
                        seq=0,
                        ts=ts,
                        sw_version="test",
                        started_at=now,
                        heartbeat_s=5,
                        devices=[],
                    )
                elif seq % 2:
                    message = Heartbeat(agent=agent, boot=boot, seq=seq, ts=ts, uptime_s=seq)
                else:
                    message = Event(agent=agent, boot=boot, seq=seq, ts=ts, name="backlog.tick", severity="info")
                client.publish(topic_for(path, message.type), encode(message), qos=1)
                sent += 1
                if sent > 2000:  # bounded in flight: paho would otherwise queue the whole backlog in memory
                    assert acked.acquire(timeout=30), "the broker stopped acknowledging"
                    sent -= 1
        for _ in range(sent):
            assert acked.acquire(timeout=30), "the broker stopped acknowledging"
    finally:
        client.disconnect()
        client.loop_stop()
    return boots


def stored_messages(dsn: str, boots: dict[str, str]) -> tuple[int, int]:
    """(rows, distinct (agent, boot, seq)) in heartbeats and events for these agents' boots."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT (agent_id, boot, seq)) FROM ("
            " SELECT agent_id, boot, seq FROM heartbeats UNION ALL SELECT agent_id, boot, seq FROM events) AS t"
            " WHERE (agent_id, boot) IN (SELECT * FROM unnest(%s::text[], %s::text[]))",
            (list(boots), list(boots.values())),
        ).fetchone()
    return (int(row[0]), int(row[1])) if row else (0, 0)


# --- stream agent ---------------------------------------------------------------------------------


@dataclass
class StreamAgent:
    agent_id: str
    broker: tuple[str, int]
    outbox: Path
    log: Path
    total: int
    rate: float = 40.0
    resend_after_s: float = 2.0
    proc: subprocess.Popen[bytes] | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def summary_file(self) -> Path:
        return self.outbox.with_suffix(".summary.json")

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        assert not self.alive
        self.summary_file.unlink(missing_ok=True)
        argv = [
            sys.executable,
            str(STREAM_AGENT),
            f"--agent={self.agent_id}",
            f"--broker={self.broker[0]}:{self.broker[1]}",
            f"--outbox={self.outbox}",
            f"--summary={self.summary_file}",
            f"--total={self.total}",
            f"--rate={self.rate}",
            f"--resend-after-s={self.resend_after_s}",
        ]
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=REPO, env=ENV)

    def kill(self) -> None:
        assert self.proc is not None
        assert self.alive, f"agent {self.agent_id} is not running"
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def finish(self, timeout: float) -> dict[str, Any]:
        """Wait for the agent to produce everything and see it all confirmed; its summary."""
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
            raise AssertionError(f"agent {self.agent_id} not done within {timeout:g} s:\n{tail(self.log)}") from None
        assert code == 0, f"agent {self.agent_id} exited with {code}:\n{tail(self.log)}"
        summary: dict[str, Any] = json.loads(self.summary_file.read_text(encoding="utf-8"))
        self.runs.append(summary)
        return summary

    def stop(self) -> None:
        if self.alive:
            assert self.proc is not None
            self.proc.kill()
            self.proc.wait(timeout=10)

    def pending(self) -> int:
        """Records in the outbox now, read beside the running agent (WAL lets a reader in)."""
        if not self.outbox.exists():
            return 0
        db = sqlite3.connect(f"file:{self.outbox}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM outbox").fetchone()[0])
        except sqlite3.OperationalError:
            return 0  # not created yet
        finally:
            db.close()

    def produced(self) -> int:
        """Stream events stored in the outbox so far, over all runs (the progress the trigger keeps)."""
        if not self.outbox.exists():
            return 0
        db = sqlite3.connect(f"file:{self.outbox}?mode=ro", uri=True)
        try:
            row = db.execute("SELECT next_n FROM stream_progress").fetchone()
        except sqlite3.OperationalError:
            return 0  # not created yet
        finally:
            db.close()
        return int(row[0]) if row else 0

    def outbox_depth(self) -> int:
        """Opened with the agent's own outbox class, once the agent has stopped."""
        assert not self.alive
        box = SqliteOutbox(self.outbox)
        try:
            return box.stats().depth
        finally:
            box.close()


StartHub = Callable[..., HubProcess]
NewAgent = Callable[..., StreamAgent]


# --- the check ------------------------------------------------------------------------------------


@dataclass
class StreamReport:
    agent_id: str
    boots: dict[str, int] = field(default_factory=dict)  # boot → highest seq stored
    rows: dict[str, int] = field(default_factory=dict)  # table → rows of this agent
    stream_events: int = 0
    historical: int = 0
    sessions: int = 0
    open_gaps: int = 0
    gaps_recorded: int = 0
    problems: list[str] = field(default_factory=list)

    def line(self) -> str:
        rows = ", ".join(f"{t} {n}" for t, n in self.rows.items())
        return (
            f"{self.agent_id}: {len(self.boots)} boot(s) {sorted(self.boots.values())} seqs; {rows};"
            f" {self.stream_events} stream events; {self.historical} historical rows; gaps recorded"
            f" {self.gaps_recorded}, open {self.open_gaps}"
        )


def _spans(numbers: set[int]) -> str:
    """{1, 2, 3, 7} → '1-3, 7' (at most 10 spans)."""
    out: list[str] = []
    ordered = sorted(numbers)
    start = prev = ordered[0] if ordered else 0
    for n in [*ordered[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return ", ".join(out[:10]) + (" …" if len(out) > 10 else "")


def check_stream(dsn: str, agent_id: str, total: int) -> StreamReport:
    """Everything the hub stored for ``agent_id``, checked against "every seq exactly once"."""
    report = StreamReport(agent_id)
    problems = report.problems
    with psycopg.connect(dsn, autocommit=True) as conn:
        for table, key in (
            ("heartbeats", "boot, seq"),
            ("events", "boot, seq"),
            ("device_states", "boot, seq, device_id"),
        ):
            rows, distinct = conn.execute(
                f"SELECT count(*), count(DISTINCT ({key})) FROM {table} WHERE agent_id = %s",
                (agent_id,),
            ).fetchone() or (0, 0)
            report.rows[table] = rows
            if rows != distinct:
                problems.append(f"{table}: {rows} rows but {distinct} distinct messages")
        keys = conn.execute(
            "SELECT boot, seq FROM heartbeats WHERE agent_id = %(a)s"
            " UNION ALL SELECT DISTINCT boot, seq FROM device_states WHERE agent_id = %(a)s"
            " UNION ALL SELECT boot, seq FROM events WHERE agent_id = %(a)s",
            {"a": agent_id},
        ).fetchall()
        used = Counter((str(boot), int(seq)) for boot, seq in keys)
        twice = sorted(k for k, n in used.items() if n > 1)
        if twice:
            problems.append(f"{len(twice)} (boot, seq) stored in more than one table, e.g. {twice[:3]}")
        by_boot: dict[str, set[int]] = {}
        for boot, seq in used:
            by_boot.setdefault(boot, set()).add(seq)
        for boot, seqs in sorted(by_boot.items()):
            top = max(seqs)
            report.boots[boot] = top
            missing = set(range(1, top + 1)) - seqs
            if missing:
                problems.append(f"boot {boot}: {len(missing)} of seqs 1-{top} missing: {_spans(missing)}")
            if 0 in seqs:
                problems.append(f"boot {boot}: seq 0 (the birth's) stored as a time-series row")
        ns = Counter(
            int(n)
            for (n,) in conn.execute(
                "SELECT (details->>'n')::int FROM events WHERE agent_id = %s AND name = 'stream.tick'", (agent_id,)
            ).fetchall()
        )
        report.stream_events = sum(ns.values())
        repeated = {n for n, count in ns.items() if count > 1}
        if repeated:
            problems.append(f"stream events stored more than once: n = {_spans(repeated)}")
        absent = set(range(total)) - set(ns)
        if absent:
            problems.append(f"{len(absent)} stream events missing: n = {_spans(absent)}")
        extra = set(ns) - set(range(total))
        if extra:
            problems.append(f"stream events outside 0-{total - 1}: n = {_spans(extra)}")
        sessions = {
            str(boot)
            for (boot,) in conn.execute("SELECT boot FROM agent_sessions WHERE agent_id = %s", (agent_id,)).fetchall()
        }
        report.sessions = len(sessions)
        if not set(by_boot) <= sessions:
            problems.append(f"boots without a stored birth: {sorted(set(by_boot) - sessions)}")
        # Only what the agent sent: the hub's own acks and commands on its topics are another matter
        # (test_delivery_topics.py).
        (quarantined,) = conn.execute(
            "SELECT count(*) FROM quarantine WHERE agent_id = %s"
            " OR (topic LIKE %s AND split_part(topic, '/', 6) NOT IN ('ack', 'command'))",
            (agent_id, f"sw/v1/{agent_id}/%"),
        ).fetchone() or (0,)
        if quarantined:
            problems.append(f"{quarantined} messages quarantined")
        report.historical = sum(
            int(n)
            for (n,) in conn.execute(
                "SELECT count(*) FROM heartbeats WHERE agent_id = %(a)s AND historical"
                " UNION ALL SELECT count(*) FROM events WHERE agent_id = %(a)s AND historical",
                {"a": agent_id},
            ).fetchall()
        )
        recorded, still_open = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE closed_at IS NULL) FROM seq_gaps WHERE agent_id = %s", (agent_id,)
        ).fetchone() or (0, 0)
        report.gaps_recorded, report.open_gaps = int(recorded), int(still_open)
    return report
