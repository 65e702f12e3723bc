"""Benchmark: alert latency, from an agent's message to the notifier being called, and city → province.

    .venv/bin/python bench/alert_latency.py [--agents 100] [--devices 50] [--interval-s 5] [--probes 200]

A private Mosquitto and PostgreSQL (``hub.stack``, free loopback ports, a temporary state directory) serve
the run; a city hub and a province hub run as real ``sitewatch hub`` processes, each on its own database.

Load: ``--agents`` agents × ``--devices`` devices each report their state every ``--interval-s`` (one
State message per agent, spread evenly over the interval), from two publisher processes (paho, QoS 1).

The path measured is event-driven end to end: a *probe* agent (a site of its own) is born, then publishes
its death (a will) — the writer turns that into an
``agent_offline`` alert inside the batch's transaction; the commit NOTIFYs the dispatcher, which queues
the desk's webhook and (critical) the province in the outbox; the outbox's NOTIFY wakes the senders.
Latency = the webhook receiver (in this process) getting the ``firing`` POST − the probe's publish.
City → province = the province committing its receipt − the city queueing the escalation (both clocks
are the one PostgreSQL server's).  The rules engine's ticking path is not measured here.

Baseline in the same run: the same probes with no load.  Writes ``bench/results/alert_latency.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from common import machine, wait_for

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
import psycopg  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402
from psycopg import sql  # noqa: E402

from hub.stack import Stack, StackSettings  # noqa: E402
from hub.stack.process import free_port  # noqa: E402
from protocol.codec import decode_up, encode  # noqa: E402
from protocol.messages import Birth, Death, DeviceInfo  # noqa: E402
from protocol.topics import AgentPath, topic_for  # noqa: E402

CITY = "bench"
KEY = f"generated-bench-key-{uuid.uuid4().hex}"
_STATE_HEAD = '{"v":1,"agent":"%s","boot":"%s","seq":%d,"ts":"%s","historical":false,"type":"state","devices":['
_DEVICE = '{"kind":"other","id":"dev-%03d","status":"ok","details":{"n":%d}}'


def state_payload(agent: str, boot: str, seq: int, devices: int) -> bytes:
    ts = datetime.now(UTC).isoformat()
    body = ",".join(_DEVICE % (i, seq) for i in range(devices))
    return ((_STATE_HEAD % (agent, boot, seq, ts)) + body + "]}").encode()


def load_agents(n: int) -> list[str]:
    return [f"{CITY}/s{i:03d}/load" for i in range(n)]


def new_boot() -> str:
    return uuid.uuid4().hex[:16]


def client(host: str, port: int, name: str) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{uuid.uuid4().hex[:8]}", protocol=paho.MQTTv5)
    c.max_inflight_messages_set(1000)
    c.connect(host, port)
    c.loop_start()
    return c


# --- the publisher process ----------------------------------------------------------------------------


def role_publisher(args: argparse.Namespace) -> int:
    """Every agent of our share publishes one State of ``--devices`` devices per ``--interval-s``."""
    agents = load_agents(args.agents)[args.first :: args.stride]
    boots = {a: new_boot() for a in agents}
    c = client(args.host, args.port, "bench-load")
    now = datetime.now(UTC)
    devices = [DeviceInfo(kind="other", id=f"dev-{i:03d}", driver="sim-other") for i in range(args.devices)]
    for a in agents:
        born = Birth(
            agent=a, boot=boots[a], seq=0, ts=now, sw_version="0.1.0", started_at=now, heartbeat_s=5.0, devices=devices
        )
        c.publish(topic_for(AgentPath.from_agent_id(a), "birth"), encode(born), qos=1).wait_for_publish(10)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seq, published = 1, 0
    step = args.interval_s / max(len(agents), 1)
    began = time.monotonic()
    while not stop.is_set() and time.monotonic() - began < args.seconds:
        round_start = time.monotonic()
        for i, a in enumerate(agents):
            due = round_start + i * step
            if stop.wait(max(0.0, due - time.monotonic())):
                break
            c.publish(
                topic_for(AgentPath.from_agent_id(a), "state"), state_payload(a, boots[a], seq, args.devices), qos=1
            )
            published += 1
        seq += 1
        stop.wait(max(0.0, round_start + args.interval_s - time.monotonic()))
    c.disconnect()
    c.loop_stop()
    Path(args.out).write_text(json.dumps({"published": published, "seconds": time.monotonic() - began}))
    return 0


# --- the desk's webhook ------------------------------------------------------------------------------


class Desk(BaseHTTPRequestHandler):
    """Records when each ``firing`` of an agent_offline alert arrives, by agent."""

    arrivals: dict[str, float] = {}  # noqa: RUF012  # one receiver per run
    lock = threading.Lock()

    def do_POST(self) -> None:
        now = time.time()
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        alert = body.get("alert", {})
        if body.get("event") == "firing" and alert.get("kind") == "agent_offline":
            with self.lock:
                self.arrivals.setdefault(alert["agent_id"], now)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


# --- hubs --------------------------------------------------------------------------------------------


class HubProcess:
    def __init__(self, workdir: Path, name: str, config: str, role: str) -> None:
        self.name = name
        self.role = role
        self.config = workdir / f"{name}.toml"
        self.config.write_text(config)
        self.log = workdir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "hub.cli", "hub", "--config", str(self.config), "--role", self.role],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        wait_for(lambda: " running: " in self.log.read_text(errors="replace") or self._died(), 60, f"{self.name} hub")
        self._died()

    def _died(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} hub exited:\n{self.log.read_text(errors='replace')[-3000:]}")
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def hub_config(name: str, broker: tuple[str, int], dsn: str, port: int, extra: str) -> str:
    return (
        f'[hub]\nname = "{name}"\n[mqtt]\nhost = "{broker[0]}"\nport = {broker[1]}\nclient_id = "bench-{name}"\n'
        f'[database]\ndsn = {json.dumps(dsn)}\n[http]\nhost = "127.0.0.1"\nport = {port}\n{extra}'
    )


def database(stack: Stack, name: str) -> str:
    with psycopg.connect(stack.admin_dsn(), autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return stack.admin_dsn(name)


# --- probes ------------------------------------------------------------------------------------------


def run_probes(host: str, port: int, tag: str, count: int, per_s: float) -> dict[str, float]:
    """Each probe agent is born, then dies 1 s later; returns agent → publish time of its death."""
    c = client(host, port, "bench-probe")
    sent: dict[str, float] = {}
    try:
        for i in range(count):
            agent = f"{CITY}/p-{tag}-{i:04d}/probe"  # a site of its own: no site goes dark with it
            boot = new_boot()
            now = datetime.now(UTC)
            born = Birth(
                agent=agent, boot=boot, seq=0, ts=now, sw_version="0.1.0", started_at=now, heartbeat_s=60.0, devices=[]
            )
            c.publish(topic_for(AgentPath.from_agent_id(agent), "birth"), encode(born), qos=1).wait_for_publish(10)
            time.sleep(1.0 / per_s)
            died = Death(agent=agent, boot=boot, seq=0, ts=datetime.now(UTC), reason="will")
            payload = encode(died)
            sent[agent] = time.time()
            c.publish(topic_for(AgentPath.from_agent_id(agent), "death"), payload, qos=1)
    finally:
        time.sleep(0.5)
        c.disconnect()
        c.loop_stop()
    return sent


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summarise(ms: Sequence[float]) -> dict[str, float]:
    return {
        "samples": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else float("nan"),
        "mean_ms": round(statistics.fmean(ms), 1) if ms else float("nan"),
    }


def measure(
    tag: str, args: argparse.Namespace, broker: tuple[str, int], city_dsn: str, province_dsn: str
) -> dict[str, Any]:
    Desk.arrivals.clear()
    sent = run_probes(broker[0], broker[1], tag, args.probes, args.probe_rate)
    wait_for(lambda: len(set(Desk.arrivals) & set(sent)) >= len(sent), 60, f"{tag}: every probe's webhook", 0.2)
    desk_ms = [(Desk.arrivals[a] - t) * 1000 for a, t in sent.items()]
    with psycopg.connect(city_dsn, autocommit=True) as c:
        rows = c.execute(
            "SELECT a.agent_id, extract(epoch FROM a.opened_at), extract(epoch FROM n.created_at), n.key::text"
            " FROM alerts a JOIN notifications n ON n.alert_id = a.id AND n.target = 'province'"
            " WHERE a.kind = 'agent_offline' AND a.agent_id = ANY(%s)",
            (list(sent),),
        ).fetchall()
    queued = {key: (agent, float(opened), float(created)) for agent, opened, created, key in rows}

    def province_done() -> dict[str, float]:
        with psycopg.connect(province_dsn, autocommit=True) as c:
            got = c.execute(
                "SELECT key::text, extract(epoch FROM received_at) FROM federation_inbox WHERE key::text = ANY(%s)",
                (list(queued),),
            ).fetchall()
        return {k: float(r) for k, r in got} if len(got) >= len(queued) else {}

    received = wait_for(province_done, 60, f"{tag}: every escalation at the province", 0.5)
    province_ms = [(received[k] - created) * 1000 for k, (_, _, created) in queued.items()]
    end_to_end_ms = [(received[k] - sent[agent]) * 1000 for k, (agent, _, _) in queued.items()]
    ingest_ms = [(opened - sent[agent]) * 1000 for agent, opened, _ in queued.values()]
    dispatch_ms = [(created - opened) * 1000 for _, opened, created in queued.values()]
    notify_ms = [(Desk.arrivals[agent] - created) * 1000 for agent, _, created in queued.values()]
    return {
        "desk": summarise(desk_ms),
        "city_to_province": summarise(province_ms),
        "publish_to_province": summarise(end_to_end_ms),
        "breakdown_p50_ms": {
            "publish_to_hub_receive": round(percentile(ingest_ms, 50), 1),
            "receive_to_queued_commit": round(percentile(dispatch_ms, 50), 1),
            "queued_to_webhook_called": round(percentile(notify_ms, 50), 1),
        },
    }


def stored_states(dsn: str) -> int:
    with psycopg.connect(dsn, autocommit=True) as c:
        row = c.execute("SELECT count(*) FROM device_states").fetchone()
    return int(row[0]) if row else 0


def run(args: argparse.Namespace) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="sitewatch-bench-alerts-"))
    stack = Stack(StackSettings(state_dir=workdir / "stack", mqtt_port=free_port(), pg_port=free_port()))
    result: dict[str, Any] = {
        "benchmark": "alert latency: agent message → alert committed → notifier called; city → province receipt",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "load": {
            "agents": args.agents,
            "devices_per_agent": args.devices,
            "interval_s": args.interval_s,
            "devices": args.agents * args.devices,
            "probes": args.probes,
            "probe_rate_per_s": args.probe_rate,
        },
        "path": "agent death (will) → writer batch → agent_offline alert → NOTIFY → dispatcher → outbox → NOTIFY →"
        " sender → signed webhook (desk) and signed POST to the province hub",
    }
    desk_server = ThreadingHTTPServer(("127.0.0.1", 0), Desk)
    threading.Thread(target=desk_server.serve_forever, daemon=True).start()
    hubs: list[HubProcess] = []
    pubs: list[subprocess.Popen[bytes]] = []
    try:
        info = stack.up()
        broker = (info.mqtt_host, info.mqtt_port)
        (workdir / "province.key").write_text(KEY)
        (workdir / "desk.key").write_text(KEY)
        city_dsn, province_dsn = database(stack, "bench_city"), database(stack, "bench_province")
        city_port, province_port = free_port(), free_port()
        city_extra = (
            "[liveness]\noffline_after_s = 60.0\n"
            "[escalation]\nflap_openings = 1000\n"
            '[[notify.webhooks]]\nname = "desk"\n'
            f'url = "http://127.0.0.1:{desk_server.server_address[1]}/hook"\nsecret_file = "desk.key"\n'
            f'[province]\nurl = "http://127.0.0.1:{province_port}"\nkey_file = "province.key"\n'
        )
        province_extra = f'[province.hubs.{CITY}]\nkey_file = "province.key"\n'
        city = HubProcess(workdir, "city", hub_config(CITY, broker, city_dsn, city_port, city_extra), "city")
        province = HubProcess(
            workdir, "province", hub_config("province", broker, province_dsn, province_port, province_extra), "province"
        )
        hubs = [city, province]
        city.start()
        province.start()
        # Probes' births are slower to settle with nothing running; warm the path once.
        measure("warm", argparse.Namespace(**{**vars(args), "probes": 5}), broker, city_dsn, province_dsn)
        result["idle_baseline"] = measure(
            "idle", argparse.Namespace(**{**vars(args), "probes": args.idle_probes}), broker, city_dsn, province_dsn
        )
        seconds = args.warmup_s + args.probes / args.probe_rate * 2 + 120
        for first in range(2):
            argv = [
                sys.executable,
                __file__,
                "--role",
                "publisher",
                "--host",
                broker[0],
                "--port",
                str(broker[1]),
                "--agents",
                str(args.agents),
                "--devices",
                str(args.devices),
                "--interval-s",
                str(args.interval_s),
                "--first",
                str(first),
                "--stride",
                "2",
                "--seconds",
                str(seconds),
                "--out",
                str(workdir / f"pub{first}.json"),
            ]
            pubs.append(subprocess.Popen(argv, cwd=ROOT))
        time.sleep(args.warmup_s)
        before, t_before = stored_states(city_dsn), time.monotonic()
        loaded = measure("load", args, broker, city_dsn, province_dsn)
        rate = (stored_states(city_dsn) - before) / (time.monotonic() - t_before)
        result["loaded"] = loaded
        result["device_states_stored_per_s"] = round(rate, 1)
        result["p50_ms"] = loaded["desk"]["p50_ms"]
        result["p99_ms"] = loaded["desk"]["p99_ms"]
        result["province_p50_ms"] = loaded["city_to_province"]["p50_ms"]
        result["province_p99_ms"] = loaded["city_to_province"]["p99_ms"]
        idle = result["idle_baseline"]["desk"]
        result["ratio_p50_loaded_vs_idle"] = round(result["p50_ms"] / idle["p50_ms"], 2) if idle["p50_ms"] else None
        result["targets"] = {"p50_ms": 250, "p99_ms": 1000}
        result["meets_targets"] = result["p50_ms"] <= 250 and result["p99_ms"] <= 1000
    finally:
        for p in pubs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(20)
        for h in hubs:
            h.stop()
        desk_server.shutdown()
        desk_server.server_close()
        stack.destroy()
        shutil.rmtree(workdir, ignore_errors=True)
    result["machine"]["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    out = args.out_dir / "alert_latency.json"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(
        f"alert latency under {args.agents * args.devices} devices/{args.interval_s:g} s: p50 {result['p50_ms']} ms,"
        f" p99 {result['p99_ms']} ms (idle p50 {idle['p50_ms']} ms); city → province p99 {result['province_p99_ms']} ms"
        f" → {out}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--role", choices=["bench", "publisher"], default="bench")
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--devices", type=int, default=50)
    p.add_argument("--interval-s", type=float, default=5.0)
    p.add_argument("--probes", type=int, default=200)
    p.add_argument("--idle-probes", type=int, default=40)
    p.add_argument("--probe-rate", type=float, default=4.0, help="probes started per second")
    p.add_argument("--warmup-s", type=float, default=15.0)
    p.add_argument("--out-dir", type=Path, default=ROOT / "bench" / "results")
    # publisher role
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--first", type=int, default=0)
    p.add_argument("--stride", type=int, default=1)
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--out", default="")
    args = p.parse_args(argv)
    if args.role == "publisher":
        return role_publisher(args)
    decode_up("sw/v1/bench/s000/load/state", state_payload("bench/s000/load", new_boot(), 1, 3))  # the format holds
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
