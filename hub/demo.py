"""``sitewatch demo``: the whole system on one machine.

Starts (or reuses) the local stack, one hub and simulated agents for 3 cities × 2 sites, each a real
process talking MQTT to a real Mosquitto, prints the dashboard URL and waits.  Ctrl-C (or SIGTERM) stops
exactly the processes the demo started, by PID, and the stack services too if the demo started them.
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from pathlib import Path

from hub.stack import Stack, StackInfo, StackSettings
from hub.stack.cli import default_state_dir

log = logging.getLogger("sitewatch.demo")

CITIES = {"jinan": "济南", "qingdao": "青岛", "yantai": "烟台"}
SITES = ("s01", "s02")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--state-dir", type=Path, default=None, help="where the stack and demo keep their data")
    parser.add_argument("--http-port", type=int, default=8080, help="dashboard port on 127.0.0.1 (default 8080)")
    parser.add_argument("--mqtt-port", type=int, default=18830)
    parser.add_argument("--pg-port", type=int, default=15432)
    parser.add_argument(
        "--duration", type=float, default=None, help="stop by itself after this many seconds (default: until Ctrl-C)"
    )


def hub_config(info: StackInfo, http_port: int) -> str:
    return f"""[hub]
name = "demo"

[mqtt]
host = "{info.mqtt_host}"
port = {info.mqtt_port}
client_id = "sitewatch-hub-demo"

[database]
dsn = "{info.dsn}"

[http]
host = "127.0.0.1"
port = {http_port}
"""


def agent_config(info: StackInfo, city: str, site: str) -> str:
    rooms = ("101", "102")
    seed = zlib.crc32(f"{city}/{site}".encode()) & 0xFFFF
    devices = [
        f'[[devices]]\ndriver = "sim-camera"\nid = "vault-cam-1"\nroom = "vault"\nlabel = "试卷库"\nseed = {seed}\n'
    ]
    for room in rooms:
        devices.append(f'[[devices]]\ndriver = "sim-idcard"\nid = "reader-{room}"\nroom = "{room}"\n')
        devices.append(f'[[devices]]\ndriver = "sim-jammer"\nid = "jammer-{room}"\nroom = "{room}"\n')
    return (
        f'[agent]\ncity = "{city}"\nsite = "{site}"\nname = "a1"\nheartbeat_s = 5.0\n\n'
        f'[broker]\nhost = "{info.mqtt_host}"\nport = {info.mqtt_port}\n\n' + "\n".join(devices)
    )


def _wait_http(url: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310  # our own loopback URL
                if resp.status == 200:
                    return True
        except OSError:
            time.sleep(0.3)
    return False


def _stop(proc: subprocess.Popen[bytes], name: str) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        log.warning("%s (pid %d) ignored SIGTERM; killing it", name, proc.pid)
        proc.kill()
        proc.wait(timeout=5)


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    state_dir: Path = args.state_dir or default_state_dir()
    stack = Stack(StackSettings(state_dir=state_dir, mqtt_port=args.mqtt_port, pg_port=args.pg_port))
    was_running = stack.is_running()
    info = stack.up()
    demo_dir = state_dir / "demo"
    demo_dir.mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    procs: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        hub_cfg = demo_dir / "hub.toml"
        hub_cfg.write_text(hub_config(info, args.http_port), encoding="utf-8")
        hub_log = (demo_dir / "hub.log").open("ab")
        procs.append(
            (
                "hub",
                subprocess.Popen(
                    [sys.executable, "-m", "hub.cli", "hub", "--config", str(hub_cfg)],
                    stdout=hub_log,
                    stderr=subprocess.STDOUT,
                ),
            )
        )
        url = f"http://127.0.0.1:{args.http_port}/"
        if not _wait_http(url + "healthz", 60):
            print(f"the hub did not come up; see {demo_dir / 'hub.log'}", file=sys.stderr)
            return 1
        for city in CITIES:
            for site in SITES:
                cfg = demo_dir / f"agent-{city}-{site}.toml"
                cfg.write_text(agent_config(info, city, site), encoding="utf-8")
                out = (demo_dir / f"agent-{city}-{site}.log").open("ab")
                cmd = [sys.executable, "-m", "hub.cli", "agent", "--config", str(cfg)]
                procs.append((f"agent {city}/{site}", subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)))
        print(f"\nSiteWatch demo is running: dashboard {url}", flush=True)
        print(f"  {len(procs) - 1} simulated agents, logs in {demo_dir}; Ctrl-C stops everything.\n", flush=True)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stop.wait(1.0):
            for name, proc in procs:
                if proc.poll() is not None:
                    log.warning("%s exited with code %s; see its log in %s", name, proc.returncode, demo_dir)
                    stop.set()
            if deadline is not None and time.monotonic() > deadline:
                break
        return 0
    finally:
        for name, proc in reversed(procs):
            _stop(proc, name)
        if not was_running:
            stack.down()
        print("demo stopped", flush=True)
