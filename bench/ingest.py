"""Benchmark: the hub's ingest path, each figure against a baseline measured in the same run.

    .venv/bin/python bench/ingest.py [--window-s 60] [--replay-agents 100] [--replay-hours 1]

A private Mosquitto and PostgreSQL (``hub.stack``, free loopback ports, a temporary state directory)
serve the run and are destroyed at the end.  Measured:

(a) QoS 1 receive rate: a bare paho subscriber (auto-ack, counts and nothing else) against the hub's
    end-to-end rate — published by the same publisher processes, counted once committed (the hub's
    ``stored`` counter, checked against the database) — over ``--window-s`` seconds after a warm-up;
(b) the writer: raw psycopg binary COPY of the same rows at the hub's batch size against
    ``hub.store.apply_batch`` with decoded messages (and with decoding included);
(c) the hub process's CPU time per stored message during (a) (utime + stime from /proc);
(d) replay: agents each holding a full outbox (1 message a second for ``--replay-hours``) start
    together against a fresh hub: time until every outbox is empty of its old boot, and a count of
    what the database holds per agent (nothing lost, nothing twice).  All but one agent run as
    ``AgentRunner`` threads in a few worker processes; one runs as a real ``sitewatch agent`` process,
    whose peak RSS is the agent memory figure.  The hub's peak RSS is read from /proc at the end.

Writes ``bench/results/ingest.json`` (a, c, d, memory) and ``bench/results/writer.json`` (b) and prints a
one-line summary.  The same file runs the helper processes (``--role publisher|bare-sub|replay-worker``).
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from common import machine, wait_for

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
import psycopg  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from psycopg import sql  # noqa: E402
from psycopg.types.json import Jsonb  # noqa: E402

from agent.config import parse_config  # noqa: E402
from agent.outbox import Priority, SqliteOutbox  # noqa: E402
from agent.runner import AgentRunner  # noqa: E402
from hub.ingest.decode import decode_batch  # noqa: E402
from hub.ingest.inbound import Inbound  # noqa: E402
from hub.ingest.writer import Writer  # noqa: E402
from hub.stack import Stack, StackSettings  # noqa: E402
from hub.stack.process import free_port  # noqa: E402
from hub.store import Accepted, apply_batch, connect, migrate  # noqa: E402
from protocol.codec import decode_up, encode  # noqa: E402
from protocol.messages import Birth, DeviceInfo, DeviceState, Event, Heartbeat, State  # noqa: E402
from protocol.topics import AgentPath, topic_for  # noqa: E402

BATCH = int(inspect.signature(Writer.__init__).parameters["max_batch"].default)
CLK_TCK = os.sysconf("SC_CLK_TCK")
# The hub's /healthz counters worth keeping with the figures.
COUNTERS = (
    "received",
    "stored",
    "duplicates",
    "acked",
    "batches",
    "not_acked_queue_full",
    "confirmations",
    "queue_depth",
)
DEVICE = "vault-cam-1"

# Wire payloads built by formatting, so the publishers spend their CPU on MQTT, not on encoding;
# checked once against the real decoder before any run.
_HEARTBEAT = (
    '{"v":1,"agent":"%s","boot":"%s","seq":%d,"ts":"%s","historical":false,"type":"heartbeat",'
    '"uptime_s":%d.0,"outbox_depth":0,"outbox_oldest_s":null,"outbox_capacity":500000}'
)
_STATE = (
    '{"v":1,"agent":"%s","boot":"%s","seq":%d,"ts":"%s","historical":false,"type":"state",'
    '"devices":[{"kind":"camera","id":"' + DEVICE + '","status":"ok","details":{"fps":25.0}}]}'
)
_EVENT = (
    '{"v":1,"agent":"%s","boot":"%s","seq":%d,"ts":"%s","historical":false,"type":"event",'
    '"name":"bench.tick","severity":"info","device":"' + DEVICE + '","details":{"n":%d}}'
)


def wire(agent: str, boot: str, seq: int, ts: str) -> tuple[str, bytes]:
    """The seq-th message of a boot: half heartbeats, a quarter states, a quarter events."""
    path = AgentPath.from_agent_id(agent)
    match seq % 4:
        case 0 | 1:
            return topic_for(path, "heartbeat"), (_HEARTBEAT % (agent, boot, seq, ts, seq)).encode()
        case 2:
            return topic_for(path, "state"), (_STATE % (agent, boot, seq, ts)).encode()
        case _:
            return topic_for(path, "event"), (_EVENT % (agent, boot, seq, ts, seq)).encode()


def message(agent: str, boot: str, seq: int, ts: datetime) -> Heartbeat | State | Event:
    """The same mix as :func:`wire`, as typed messages (for the writer bench and the outboxes)."""
    match seq % 4:
        case 0 | 1:
            return Heartbeat(agent=agent, boot=boot, seq=seq, ts=ts, uptime_s=float(seq), outbox_capacity=500000)
        case 2:
            state = DeviceState(kind="camera", id=DEVICE, status="ok", details={"fps": 25.0})
            return State(agent=agent, boot=boot, seq=seq, ts=ts, devices=[state])
        case _:
            return Event(
                agent=agent,
                boot=boot,
                seq=seq,
                ts=ts,
                name="bench.tick",
                severity="info",
                device=DEVICE,
                details={"n": seq},
            )


def birth(agent: str, boot: str, ts: datetime) -> Birth:
    device = DeviceInfo(kind="camera", id=DEVICE, driver="sim-camera", room="vault")
    return Birth(
        agent=agent, boot=boot, seq=0, ts=ts, sw_version="bench", started_at=ts, heartbeat_s=5.0, devices=[device]
    )


def new_boot() -> str:
    return uuid.uuid4().hex[:16]


def agent_ids(prefix: str, n: int) -> list[str]:
    return [f"{prefix}/s{i:03d}/a1" for i in range(n)]


# --- processes and /proc --------------------------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def me(role: str, *args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--role", role, *args]


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


class Hub:
    """``sitewatch hub`` as a subprocess on its own database and MQTT client id."""

    def __init__(self, workdir: Path, name: str, broker: tuple[str, int], dsn: str, command: Sequence[str]) -> None:
        self.name = name
        self.command = list(command)
        self.client_id = f"bench-{name}-{uuid.uuid4().hex[:6]}"
        self.broker = broker
        self.log = workdir / f"hub-{name}.log"
        self.config = workdir / f"hub-{name}.toml"
        self.config.write_text(
            "\n".join(
                [
                    "[hub]",
                    f'name = "{name}"',
                    "[mqtt]",
                    f'host = "{broker[0]}"',
                    f"port = {broker[1]}",
                    f'client_id = "{self.client_id}"',
                    "[database]",
                    f"dsn = {json.dumps(dsn)}",
                    "[http]",
                    'host = "127.0.0.1"',
                    "port = 0",
                ]
            )
            + "\n",
            encoding="utf-8",
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [*self.command, "--config", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        proc = self.proc

        def running() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"hub exited with {proc.returncode}; see {self.log}")
            return " running: storage" in self.log.read_text(encoding="utf-8", errors="replace")

        wait_for(running, 60, "the hub to run")
        text = self.log.read_text(encoding="utf-8", errors="replace")
        self.url = text.rsplit("dashboard ", 1)[1].split()[0]

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def counters(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url + "healthz", timeout=10) as resp:
            counters: dict[str, Any] = json.loads(resp.read())["counters"]
        return counters

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
        end_session(self.broker, self.client_id)


def end_session(broker: tuple[str, int], client_id: str) -> None:
    """A clean start as ``client_id`` makes the broker drop that session and whatever it still queues."""
    done = threading.Event()
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
    client.on_connect = lambda *_a: done.set()
    client.connect(broker[0], broker[1], clean_start=True)
    client.loop_start()
    done.wait(10)
    client.disconnect()
    client.loop_stop()


def hub_command(args: argparse.Namespace) -> list[str]:
    return args.hub_command.split() if args.hub_command else [sys.executable, "-m", "hub.cli", "hub"]


def fresh_database(stack: Stack, name: str) -> str:
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return stack.admin_dsn(name)


def stored_rows(dsn: str, prefix: str) -> int:
    """Time-series messages of agents whose id starts with ``prefix`` (one state = one device row here)."""
    like = prefix + "/%"
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM heartbeats WHERE agent_id LIKE %(p)s)"
            " + (SELECT count(*) FROM device_states WHERE agent_id LIKE %(p)s)"
            " + (SELECT count(*) FROM events WHERE agent_id LIKE %(p)s)",
            {"p": like},
        ).fetchone()
    return int(row[0]) if row else 0


# --- (a) and (c): publishers, the bare subscriber, the hub ----------------------------------------


def role_publisher(args: argparse.Namespace) -> int:
    """Publish the message mix at QoS 1 as fast as the broker acknowledges, for ``--seconds``."""
    agents = agent_ids(args.prefix, args.agents)[args.first :: args.stride]
    boots = {a: new_boot() for a in agents}
    seqs = dict.fromkeys(agents, 1)
    acked = 0

    def on_publish(*_a: Any) -> None:
        nonlocal acked
        acked += 1

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
    )
    client.max_inflight_messages_set(1000)
    client.on_publish = on_publish
    client.connect(args.host, args.port)
    client.loop_start()
    now = datetime.now(UTC)
    for agent in agents:
        client.publish(
            topic_for(AgentPath.from_agent_id(agent), "birth"), encode(birth(agent, boots[agent], now)), qos=1
        )
    published = len(agents)
    end = time.monotonic() + args.seconds
    i = 0
    ts = now.isoformat()
    while time.monotonic() < end:
        if published - acked >= 2000:
            time.sleep(0.0005)
            continue
        agent = agents[i % len(agents)]
        i += 1
        if i % 64 == 0:
            ts = datetime.now(UTC).isoformat()
        seq = seqs[agent]
        seqs[agent] = seq + 1
        client.publish(*wire(agent, boots[agent], seq, ts), qos=1)
        published += 1
    wait_for(lambda: acked >= published, 60, "the broker's last PUBACKs", interval=0.01)
    client.disconnect()
    client.loop_stop()
    Path(args.out).write_text(json.dumps({"published": published, "seconds": args.seconds}), encoding="utf-8")
    return 0


def role_bare_sub(args: argparse.Namespace) -> int:
    """Count QoS 1 messages (paho acks them itself) over a window that opens ``--warmup-s`` after the first."""
    count = 0
    subscribed = threading.Event()

    def on_message(*_a: Any) -> None:
        nonlocal count
        count += 1

    client = paho.Client(
        CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5
    )
    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.on_connect = lambda c, *_a: c.subscribe("sw/v1/+/+/+/+", qos=1)
    client.connect(args.host, args.port)
    client.loop_start()
    subscribed.wait(10)
    Path(args.out + ".ready").write_text("ready", encoding="utf-8")
    wait_for(lambda: count > 0, 60, "the first message", interval=0.01)
    time.sleep(args.warmup_s)
    c0, t0, cpu0 = count, time.monotonic(), time.process_time()
    time.sleep(args.window_s)
    c1, t1, cpu1 = count, time.monotonic(), time.process_time()
    client.disconnect()
    client.loop_stop()
    rate = (c1 - c0) / (t1 - t0)
    result = {"messages": c1 - c0, "seconds": round(t1 - t0, 2), "rate": round(rate, 1)}
    result["cpu_us_per_msg"] = round((cpu1 - cpu0) * 1e6 / max(1, c1 - c0), 1)
    Path(args.out).write_text(json.dumps(result), encoding="utf-8")
    return 0


def start_publishers(
    workdir: Path, broker: tuple[str, int], prefix: str, agents: int, n: int, seconds: float
) -> list[tuple[subprocess.Popen[bytes], Path]]:
    out = []
    for k in range(n):
        result = workdir / f"pub-{prefix}-{k}.json"
        argv = me(
            "publisher",
            f"--host={broker[0]}",
            f"--port={broker[1]}",
            f"--prefix={prefix}",
            f"--agents={agents}",
            f"--first={k}",
            f"--stride={n}",
            f"--seconds={seconds}",
            f"--out={result}",
        )
        out.append((subprocess.Popen(argv, cwd=ROOT), result))
    return out


def finish_publishers(pubs: Sequence[tuple[subprocess.Popen[bytes], Path]]) -> int:
    total = 0
    for proc, result in pubs:
        if proc.wait(120) != 0:
            raise RuntimeError(f"a publisher failed ({proc.returncode})")
        total += json.loads(result.read_text(encoding="utf-8"))["published"]
    return total


def bench_bare(workdir: Path, broker: tuple[str, int], args: argparse.Namespace) -> dict[str, Any]:
    out = workdir / "bare.json"
    sub = subprocess.Popen(
        me(
            "bare-sub",
            f"--host={broker[0]}",
            f"--port={broker[1]}",
            f"--warmup-s={args.warmup_s}",
            f"--window-s={args.bare_window_s}",
            f"--out={out}",
        ),
        cwd=ROOT,
    )
    wait_for(lambda: Path(str(out) + ".ready").exists(), 30, "the bare subscriber")
    seconds = args.warmup_s + args.bare_window_s + 3
    pubs = start_publishers(workdir, broker, "barebench", args.agents, args.publishers, seconds)
    published = finish_publishers(pubs)
    if sub.wait(60) != 0:
        raise RuntimeError("the bare subscriber failed")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    result["publish_rate"] = round(published / seconds, 1)
    return result


def bench_hub(workdir: Path, stack: Stack, broker: tuple[str, int], args: argparse.Namespace) -> dict[str, Any]:
    dsn = fresh_database(stack, "bench_ingest")
    hub = Hub(workdir, "ingest", broker, dsn, hub_command(args))
    hub.start()
    try:
        seconds = args.warmup_s + args.window_s + 2
        pubs = start_publishers(workdir, broker, "hubbench", args.agents, args.publishers, seconds)
        wait_for(lambda: hub.counters().get("stored", 0) > 0, 30, "the hub to store")
        time.sleep(args.warmup_s)
        start = hub.counters()
        s0, r0, cpu0, t0 = start["stored"], start["received"], proc_cpu_s(hub.pid), time.monotonic()
        time.sleep(args.window_s)
        counters = hub.counters()
        s1, cpu1, t1 = counters["stored"], proc_cpu_s(hub.pid), time.monotonic()
        published = finish_publishers(pubs)
        if args.profile is not None:
            profile_hub(hub, args.profile)
        stored = s1 - s0
        result = {
            "window_s": round(t1 - t0, 2),
            "stored_in_window": stored,
            "rate": round(stored / (t1 - t0), 1),
            "publish_rate": round(published / seconds, 1),
            "cpu_s": round(cpu1 - cpu0, 2),
            "cpu_us_per_msg": round((cpu1 - cpu0) * 1e6 / max(1, stored), 1),
            "cpu_percent_of_one_core": round(100 * (cpu1 - cpu0) / (t1 - t0), 1),
            "cpu_us_per_received_msg": round((cpu1 - cpu0) * 1e6 / max(1, counters["received"] - r0), 1),
            "counters_at_window_end": {k: counters.get(k) for k in COUNTERS},
            "quarantined_at_window_end": counters.get("quarantined", {}),
            "peak_rss_mb": peak_rss_mb(hub.pid),
            "db_rows_at_end": stored_rows(dsn, "hubbench"),
        }
    finally:
        hub.stop()
    return result


def profile_hub(hub: Hub, out: Path) -> None:
    """Where the hub's time goes, while the broker still holds a backlog (py-spy, if installed)."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(spy).exists():
        return
    done = subprocess.run(
        [
            spy,
            "record",
            "--pid",
            str(hub.pid),
            "--duration",
            "10",
            "--format",
            "raw",
            "--output",
            str(out),
            "--nonblocking",
        ],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        sys.stderr.write(done.stderr.decode(errors="replace"))


# --- (b): writer against raw COPY -----------------------------------------------------------------


def writer_messages(n: int, agents: int) -> list[Accepted]:
    ids = agent_ids("writerbench", agents)
    boots = {a: new_boot() for a in ids}
    now = datetime.now(UTC)
    return [
        Accepted(
            message(ids[i % agents], boots[ids[i % agents]], i // agents + 1, now + timedelta(microseconds=i)), now
        )
        for i in range(n)
    ]


_COMMON = ("time", "received_at", "agent_id", "boot", "seq", "historical")
_TYPES = ("timestamptz", "timestamptz", "text", "text", "int8", "bool")


def raw_copy(conn: psycopg.Connection[Any], batch: Sequence[Accepted]) -> None:
    """The least work that puts these messages' rows in their tables: one binary COPY per table."""
    beats: list[tuple[Any, ...]] = []
    states: list[tuple[Any, ...]] = []
    events: list[tuple[Any, ...]] = []
    for item in batch:
        m = item.message
        head = (m.ts, item.received_at, m.agent, m.boot, m.seq, m.historical)
        if isinstance(m, Heartbeat):
            beats.append((*head, m.uptime_s, m.outbox_depth, m.outbox_oldest_s))
        elif isinstance(m, State):
            states.extend((*head, d.id, d.kind, d.status, Jsonb(d.details)) for d in m.devices)
        elif isinstance(m, Event):
            events.append((*head, m.name, m.severity, m.device, Jsonb(m.details)))
    tables = (
        ("heartbeats", ("uptime_s", "outbox_depth", "outbox_oldest_s"), ("float8", "int4", "float8"), beats),
        ("device_states", ("device_id", "kind", "status", "details"), ("text", "text", "text", "jsonb"), states),
        ("events", ("name", "severity", "device_id", "details"), ("text", "text", "text", "jsonb"), events),
    )
    with conn.transaction(), conn.cursor() as cur:
        for table, cols, types, rows in tables:
            if not rows:
                continue
            with cur.copy(f"COPY {table} ({', '.join((*_COMMON, *cols))}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types([*_TYPES, *types])
                for row in rows:
                    copy.write_row(row)


def batches(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), BATCH):
        yield items[i : i + BATCH]


def timed_batches(work: Callable[[Sequence[Any]], object], items: Sequence[Any]) -> tuple[int, float]:
    """(rows, seconds) over ``items`` in batches of the hub's size."""
    t0 = time.perf_counter()
    for chunk in batches(items):
        work(chunk)
    return len(items), time.perf_counter() - t0


ROUNDS = 4


def bench_writer(stack: Stack, args: argparse.Namespace) -> dict[str, Any]:
    """The three ways take turns on equal slices, so a burst of other load on the machine hits all of them."""
    items = writer_messages(args.writer_messages, args.agents)
    inbound = [
        Inbound(
            topic_for(AgentPath.from_agent_id(i.message.agent), i.message.type), encode(i.message), 0, 1, i.received_at
        )
        for i in writer_messages(args.writer_messages, args.agents)
    ]
    conns = {
        name: connect(fresh_database(stack, f"bench_writer_{name}"), "bench-writer")
        for name in ("raw_copy", "apply_batch", "decode_and_apply_batch")
    }
    work: dict[str, tuple[Callable[[Sequence[Any]], object], Sequence[Any]]] = {
        "raw_copy": (lambda b: raw_copy(conns["raw_copy"], b), items),
        "apply_batch": (lambda b: apply_batch(conns["apply_batch"], b, datetime.now(UTC)), items),
        "decode_and_apply_batch": (
            lambda b: apply_batch(conns["decode_and_apply_batch"], decode_batch(b), datetime.now(UTC)),
            inbound,
        ),
    }
    totals = dict.fromkeys(conns, (0, 0.0))
    try:
        for conn in conns.values():
            migrate(conn)
        for run_batch, source in work.values():
            run_batch(source[:BATCH])  # warm-up: the first batch creates the staging tables
        size = -(-len(items) // ROUNDS)
        for r in range(ROUNDS):
            for name, (run_batch, source) in work.items():
                rows, seconds = timed_batches(run_batch, source[BATCH + r * size : BATCH + (r + 1) * size])
                totals[name] = (totals[name][0] + rows, totals[name][1] + seconds)
        for name, conn in conns.items():
            with conn.cursor() as cur:
                stored = cur.execute(
                    "SELECT (SELECT count(*) FROM heartbeats) + (SELECT count(*) FROM device_states)"
                    " + (SELECT count(*) FROM events)"
                ).fetchone()
            if stored is None or stored[0] != len(items):
                raise RuntimeError(f"{name} stored {stored} rows of {len(items)}")
    finally:
        for conn in conns.values():
            conn.close()
    figures = {name: rows / seconds for name, (rows, seconds) in totals.items()}
    return {
        "batch_size": BATCH,
        "messages": len(items),
        "message_mix": "1/2 heartbeats, 1/4 states (one device), 1/4 events",
        "raw_copy_rows_per_s": round(figures["raw_copy"], 1),
        "writer_rows_per_s": round(figures["apply_batch"], 1),
        "writer_with_decode_rows_per_s": round(figures["decode_and_apply_batch"], 1),
        "ratio": round(figures["apply_batch"] / figures["raw_copy"], 3),
        "ratio_with_decode": round(figures["decode_and_apply_batch"] / figures["raw_copy"], 3),
        "target_ratio": 0.5,
    }


# --- (d): replay ----------------------------------------------------------------------------------


def agent_config(agent: str, broker: tuple[str, int], outbox: Path) -> dict[str, Any]:
    city, site, name = agent.split("/")
    return {
        "agent": {"city": city, "site": site, "name": name},
        "broker": {"host": broker[0], "port": broker[1]},
        "outbox": {"path": str(outbox)},
        "devices": [{"driver": "sim-camera", "id": DEVICE, "room": "vault"}],
    }


def fill_outbox(path: Path, agent: str, boot: str, records: int, began: datetime) -> None:
    """An outbox as an agent offline for ``records`` seconds leaves it: a birth, then 1 message a second."""
    SqliteOutbox(path).close()  # the agent's own schema
    agent_path = AgentPath.from_agent_id(agent)
    rows = [(boot, 0, topic_for(agent_path, "birth"), encode(birth(agent, boot, began)), int(Priority.KEEP), 0.0)]
    for seq in range(1, records + 1):
        msg = message(agent, boot, seq, began + timedelta(seconds=seq))
        priority = Priority.PERIODIC if isinstance(msg, Heartbeat) else Priority.KEEP
        rows.append((boot, seq, topic_for(agent_path, msg.type), encode(msg), int(priority), msg.ts.timestamp()))
    db = sqlite3.connect(path)
    with db:
        db.executemany(
            "INSERT INTO outbox (boot, seq, topic, payload, priority, created) VALUES (?, ?, ?, ?, ?, ?)", rows
        )
    db.close()


def old_left(path: Path, boot: str) -> int:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        row = db.execute("SELECT count(*) FROM outbox WHERE boot = ?", (boot,)).fetchone()
    finally:
        db.close()
    return int(row[0])


def role_replay_worker(args: argparse.Namespace) -> int:
    """Run the listed agents as AgentRunner threads until SIGTERM; write their pump counters."""
    spec = json.loads(Path(args.spec).read_text(encoding="utf-8"))
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_a: stop.set())
    runners = []
    for entry in spec["agents"]:
        config = parse_config(agent_config(entry["agent"], (args.host, args.port), Path(entry["outbox"])), "bench")
        runners.append(AgentRunner(config, Path(entry["outbox"])))
    for runner in runners:
        runner.start()
    stop.wait()
    for runner in runners:  # all at once: each says goodbye to the broker in its own thread
        runner.request_stop()
    for runner in runners:
        runner.stop(30)
    totals: dict[str, int] = {}
    for runner in runners:
        c = runner.pump.counters
        for key in ("published", "replayed", "confirmed", "resends", "commands"):
            totals[key] = totals.get(key, 0) + getattr(c, key)
    Path(args.out).write_text(json.dumps(totals), encoding="utf-8")
    return 0


def bench_replay(workdir: Path, stack: Stack, broker: tuple[str, int], args: argparse.Namespace) -> dict[str, Any]:
    records = int(args.replay_hours * 3600)
    ids = agent_ids("replay", args.replay_agents)
    boots = {a: new_boot() for a in ids}
    outboxes = {a: workdir / "outboxes" / f"{a.replace('/', '-')}.sqlite" for a in ids}
    began = datetime.now(UTC) - timedelta(seconds=records + 60)
    t_fill = time.monotonic()
    for agent in ids:
        fill_outbox(outboxes[agent], agent, boots[agent], records, began)
    fill_s = time.monotonic() - t_fill

    dsn = fresh_database(stack, "bench_replay")
    hub = Hub(workdir, "replay", broker, dsn, hub_command(args))
    hub.start()
    workers: list[tuple[subprocess.Popen[bytes], Path]] = []
    cli_agent: subprocess.Popen[bytes] | None = None
    try:
        # One agent as a real `sitewatch agent` process (its memory is the agent figure); the rest in workers.
        solo = ids[0]
        solo_config = workdir / "solo-agent.toml"
        solo_config.write_text(_toml(agent_config(solo, broker, outboxes[solo])), encoding="utf-8")
        rest = ids[1:]
        per = -(-len(rest) // args.replay_workers) if rest else 0
        t0 = time.monotonic()
        with (workdir / "solo-agent.log").open("ab") as log:
            cli_agent = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "agent", "--config", str(solo_config), "--log-level", "WARNING"],
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
        for k in range(args.replay_workers):
            chunk = rest[k * per : (k + 1) * per]
            if not chunk:
                continue
            spec = workdir / f"replay-worker-{k}.json"
            spec.write_text(
                json.dumps({"agents": [{"agent": a, "outbox": str(outboxes[a])} for a in chunk]}), encoding="utf-8"
            )
            out = workdir / f"replay-worker-{k}.out.json"
            with (workdir / f"replay-worker-{k}.log").open("ab") as log:
                proc = subprocess.Popen(
                    me("replay-worker", f"--host={broker[0]}", f"--port={broker[1]}", f"--spec={spec}", f"--out={out}"),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=ROOT,
                )
            workers.append((proc, out))
        left = {a: records + 1 for a in ids}
        progress: list[tuple[float, int]] = []
        while any(left.values()) and time.monotonic() - t0 < args.replay_timeout_s:
            for agent in ids:
                if left[agent]:
                    left[agent] = old_left(outboxes[agent], boots[agent])
            progress.append((round(time.monotonic() - t0, 1), sum(left.values())))
            time.sleep(1.0)
        drain_s = time.monotonic() - t0
        drained = not any(left.values())
        agent_rss = peak_rss_mb(cli_agent.pid)
        worker_rss = max(peak_rss_mb(p.pid) for p, _ in workers) if workers else 0.0
        hub_counters = hub.counters()
        hub_rss = peak_rss_mb(hub.pid)
        per_agent = replay_counts(dsn, boots)
    finally:
        if cli_agent is not None:
            stop_process(cli_agent)
        for proc, _ in workers:
            stop_process(proc, 60)
        hub.stop()
    pump: dict[str, int] = {}
    for _, out in workers:
        with contextlib.suppress(FileNotFoundError):
            for key, value in json.loads(out.read_text(encoding="utf-8")).items():
                pump[key] = pump.get(key, 0) + value
    expected = {a: records for a in ids}
    complete = sum(1 for a in ids if per_agent.get(a) == (records, records, 1, records))
    return {
        "agents": len(ids),
        "records_per_agent": records,
        "messages": records * len(ids),
        "outbox_fill_s": round(fill_s, 1),
        "drained": drained,
        # Records of the old boots still in the outboxes when the wait ended (0 when drained).
        "left_in_outboxes": sum(left.values()),
        "drain_s": round(drain_s, 1),
        "drain_rate": round(((records + 1) * len(ids) - sum(left.values())) / drain_s, 1),
        "agents_complete": complete,
        # Within what drained: every stored seq exactly once (lost would mean a record gone from an outbox
        # without reaching the database).
        "nothing_lost": drained and complete == len(ids),
        "stored_total": sum(v[0] for v in per_agent.values()),
        "expected_total": sum(expected.values()),
        "hub_counters": {k: hub_counters.get(k) for k in COUNTERS},
        "hub_quarantined": hub_counters.get("quarantined", {}),
        "worker_pump_counters": pump,
        "hub_peak_rss_mb": hub_rss,
        "agent_peak_rss_mb": agent_rss,
        "agent_worker_peak_rss_mb": worker_rss,
        "agents_per_worker": per,
        "left_over_time": progress[:: max(1, len(progress) // 20)],
    }


def replay_counts(dsn: str, boots: dict[str, str]) -> dict[str, tuple[int, int, int, int]]:
    """Per agent, for its old boot: (rows, distinct seqs, lowest seq, highest seq)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT agent_id, count(*), count(DISTINCT seq), min(seq), max(seq) FROM ("
            " SELECT agent_id, boot, seq FROM heartbeats UNION ALL SELECT agent_id, boot, seq FROM device_states"
            " UNION ALL SELECT agent_id, boot, seq FROM events) AS t"
            " WHERE (agent_id, boot) IN (SELECT * FROM unnest(%s::text[], %s::text[])) GROUP BY agent_id",
            (list(boots), list(boots.values())),
        ).fetchall()
    return {str(a): (int(n), int(d), int(lo), int(hi)) for a, n, d, lo, hi in rows}


def _toml(doc: dict[str, Any]) -> str:
    lines = []
    for section, values in doc.items():
        if isinstance(values, list):
            for entry in values:
                lines.append(f"[[{section}]]")
                lines.extend(f"{k} = {json.dumps(v)}" for k, v in entry.items())
        else:
            lines.append(f"[{section}]")
            lines.extend(f"{k} = {json.dumps(v)}" for k, v in values.items())
    return "\n".join(lines) + "\n"


# --- main -----------------------------------------------------------------------------------------


def check_payloads() -> None:
    ts = datetime.now(UTC).isoformat()
    for seq in range(4):
        topic, payload = wire("bench/s000/a1", new_boot(), seq + 1, ts)
        decode_up(topic, payload)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--role", choices=["main", "publisher", "bare-sub", "replay-worker"], default="main")
    p.add_argument("--window-s", type=float, default=60.0, help="hub measurement window")
    p.add_argument("--bare-window-s", type=float, default=20.0)
    p.add_argument("--warmup-s", type=float, default=8.0)
    p.add_argument("--agents", type=int, default=100, help="agent ids the publishers write as")
    p.add_argument("--publishers", type=int, default=2)
    p.add_argument("--writer-messages", type=int, default=40_000)
    p.add_argument("--replay-agents", type=int, default=100)
    p.add_argument("--replay-hours", type=float, default=1.0)
    p.add_argument("--replay-workers", type=int, default=3)
    p.add_argument("--replay-timeout-s", type=float, default=240.0)
    p.add_argument(
        "--hub-command",
        default="",
        help="how to run the hub (default: this interpreter with -m hub.cli hub), e.g. to measure a candidate build",
    )
    p.add_argument("--profile", type=Path, metavar="FILE", help="py-spy the hub for 10 s after (a), raw stacks to FILE")
    p.add_argument("--skip", default="", help="comma-separated parts to skip: a,b,d")
    p.add_argument("--keep-workdir", action="store_true", help="keep the hubs' logs and configs for a post-mortem")
    p.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    # helper roles
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--prefix")
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--seconds", type=float)
    p.add_argument("--spec")
    p.add_argument("--out")
    args = p.parse_args(argv)
    if args.role == "publisher":
        return role_publisher(args)
    if args.role == "bare-sub":
        return role_bare_sub(args)
    if args.role == "replay-worker":
        return role_replay_worker(args)
    return run(args)


def part(name: str, work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One part's figures; a part that fails is recorded as such and the others still run."""
    try:
        return work()
    except Exception as exc:
        sys.stderr.write(f"part {name} failed: {exc!r}\n")
        return {"error": repr(exc)}


def bench_end_to_end(workdir: Path, stack: Stack, broker: tuple[str, int], args: argparse.Namespace) -> dict[str, Any]:
    bare = bench_bare(workdir, broker, args)
    hub = bench_hub(workdir, stack, broker, args)
    return {
        "agents": args.agents,
        "publishers": args.publishers,
        "bare_subscriber": bare,
        "hub": hub,
        "hub_rate": hub["rate"],
        "bare_rate": bare["rate"],
        "ratio": round(hub["rate"] / bare["rate"], 3),
        "target_ratio": 0.5,
        "cpu_us_per_msg": hub["cpu_us_per_msg"],
        "target_cpu_us_per_msg": 225,
    }


def run(args: argparse.Namespace) -> int:
    check_payloads()
    skip = set(filter(None, args.skip.split(",")))
    workdir = Path(tempfile.mkdtemp(prefix="sitewatch-bench-ingest-"))
    stack = Stack(StackSettings(state_dir=workdir / "stack", mqtt_port=free_port(), pg_port=free_port()))
    date = datetime.now(UTC).isoformat(timespec="seconds")
    began = time.monotonic()
    ingest: dict[str, Any] = {"benchmark": "hub ingest: end to end, CPU, memory, replay", "date": date}
    ingest["machine"] = machine()
    writer: dict[str, Any] | None = None
    ingest["hub_command"] = " ".join(hub_command(args))
    try:
        info = stack.up()
        broker = (info.mqtt_host, info.mqtt_port)
        if "a" not in skip:
            ingest.update(part("a", lambda: bench_end_to_end(workdir, stack, broker, args)))
        if "b" not in skip:
            writer = {"benchmark": "hub writer vs raw psycopg binary COPY", "date": date, "machine": machine()}
            writer.update(part("b", lambda: bench_writer(stack, args)))
        if "d" not in skip:
            ingest["replay"] = part("d", lambda: bench_replay(workdir, stack, broker, args))
        ingest["memory"] = {
            "hub_peak_rss_mb": max(
                ingest.get("hub", {}).get("peak_rss_mb", 0.0), ingest.get("replay", {}).get("hub_peak_rss_mb", 0.0)
            ),
            "agent_peak_rss_mb": ingest.get("replay", {}).get("agent_peak_rss_mb"),
        }
        ingest["bench_s"] = round(time.monotonic() - began, 1)
    finally:
        stack.destroy()
        if args.keep_workdir:
            sys.stderr.write(f"kept the work directory (hub logs, configs): {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "ingest.json").write_text(json.dumps(ingest, indent=2) + "\n", encoding="utf-8")
    if writer is not None:
        (args.out_dir / "writer.json").write_text(json.dumps(writer, indent=2) + "\n", encoding="utf-8")
    print(summary(ingest, writer))
    return 0


def summary(ingest: dict[str, Any], writer: dict[str, Any] | None) -> str:
    parts = []
    if "hub_rate" in ingest:
        parts.append(
            f"hub {ingest['hub_rate']:.0f} msg/s vs bare {ingest['bare_rate']:.0f} (ratio {ingest['ratio']:.2f},"
            f" target 0.5); hub CPU {ingest['cpu_us_per_msg']:.0f} µs/msg (target 225)"
        )
    if writer is not None and "ratio" in writer:
        parts.append(
            f"writer {writer['writer_rows_per_s']:.0f} rows/s vs raw COPY {writer['raw_copy_rows_per_s']:.0f}"
            f" (ratio {writer['ratio']:.2f})"
        )
    r = ingest.get("replay", {})
    if "drained" in r:
        total = (r["records_per_agent"] + 1) * r["agents"]
        if r["drained"]:
            lost = "nothing lost" if r["nothing_lost"] else "LOSS"
            parts.append(f"replay {r['agents']}×{r['records_per_agent']} drained in {r['drain_s']:.0f} s, {lost}")
        else:
            parts.append(
                f"replay {r['agents']}×{r['records_per_agent']} NOT drained in {r['drain_s']:.0f} s"
                f" ({r['left_in_outboxes']} of {total} records left)"
            )
    mem = ingest["memory"]
    if mem["hub_peak_rss_mb"]:
        parts.append(f"peak RSS hub {mem['hub_peak_rss_mb']} MB, agent {mem['agent_peak_rss_mb']} MB")
    return "ingest bench: " + "; ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
