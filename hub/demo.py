"""``sitewatch demo``: the whole system on one machine.

Starts (or reuses) the local stack, one hub and agents for 3 cities × 2 sites, each a real process
talking MQTT to a real Mosquitto.  Every site has a vault camera watching a generated scene (figures
walking in and out, through the real OpenCV analysis), two rooms each with a SAM ID-card reader
simulated on a pty (generated test cards and faults, through the real serial driver) and a simulated
jammer.  It signs up two generated users, prints the dashboard URL with their passwords, and waits.
Ctrl-C (or SIGTERM) stops exactly the processes the demo started, by PID, and the stack services too
if the demo started them.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import IO

from agent.drivers.idcard.checkin import card_day
from agent.drivers.idcard.sim.cards import generated_test_cards
from hub.stack import Stack, StackInfo, StackSettings
from hub.stack.cli import default_state_dir

log = logging.getLogger("sitewatch.demo")

CITIES = ("jinan", "qingdao", "yantai")
SITES = ("s01", "s02")
ROOMS = ("101", "102")
DEMO_EXAM = "demo-exam"
DEMO_CARDS = 20
DEMO_UNREGISTERED = 2  # generated cards of each room left off the roster
# (username, role, city) — generated demo accounts; passwords are new every run.
USERS = (("demo-province", "provincial", None), ("demo-jinan", "city", "jinan"))


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


def _seed(*parts: str) -> int:
    return zlib.crc32("/".join(parts).encode()) & 0xFFFF


def reader_link(demo_dir: Path, city: str, site: str, room: str) -> Path:
    return demo_dir / "readers" / f"{city}-{site}-{room}"


def baseline_dir(city: str, site: str) -> str:
    # All agent configs share the demo folder; each camera's commissioning files need their own.
    return f"camera-baselines/{city}-{site}"


def agent_config(info: StackInfo, demo_dir: Path, city: str, site: str) -> str:
    devices = [
        "[[devices]]\n"
        'driver = "camera"\nid = "vault-cam-1"\nroom = "vault"\nlabel = "试卷库"\n'
        f'source = "synthetic:{_seed(city, site)}"\nbaseline_dir = "{baseline_dir(city, site)}"\n'
    ]
    for room in ROOMS:
        # No key or roster files: the hub pushes both (``hub roster import`` in :func:`_import_roster`).
        devices.append(
            "[[devices]]\n"
            f'driver = "idcard-sam"\nid = "reader-{room}"\nroom = "{room}"\n'
            f'port = "{reader_link(demo_dir, city, site, room)}"\nhotplug = false\n'
        )
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


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "hub.cli", *args]


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


class Processes:
    """Everything the demo starts, so that exactly those are stopped (newest first)."""

    def __init__(self, log_dir: Path) -> None:
        self.log_dir = log_dir
        self.running: list[tuple[str, subprocess.Popen[bytes]]] = []
        self._logs: list[IO[bytes]] = []

    def start(self, name: str, argv: Sequence[str]) -> subprocess.Popen[bytes]:
        out = (self.log_dir / f"{name.replace('/', '-').replace(' ', '-')}.log").open("ab")
        self._logs.append(out)
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
        self.running.append((name, proc))
        return proc

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.running:
            code = proc.poll()
            if code is not None:
                return name, code
        return None

    def stop_all(self) -> None:
        for name, proc in reversed(self.running):
            _stop(proc, name)
        for out in self._logs:
            out.close()


def _sign_up(config: Path) -> list[tuple[str, str, str]]:
    """Generated demo users with fresh passwords (added, or reset when a former run made them)."""
    made = []
    for username, role, city in USERS:
        password = secrets.token_urlsafe(12)
        add = [*_cli("hub", "user", "add", "--config", str(config), username, "--role", role), "--password-stdin"]
        if city is not None:
            add += ["--city", city]
        reset = _cli("hub", "user", "reset-password", "--config", str(config), username, "--password-stdin")
        for argv in (add, reset):
            done = subprocess.run(argv, input=f"{password}\n".encode(), capture_output=True, timeout=60, check=False)
            if done.returncode == 0:
                made.append((username, password, role if city is None else f"{role} ({city})"))
                break
        else:
            log.warning("could not set up demo user %s: %s", username, done.stderr.decode(errors="replace").strip())
    return made


def roster_csv() -> str:
    """The demo exam's candidates: each simulated reader's generated test cards (the same seed and day as
    ``simulate idcard`` uses) but the last :data:`DEMO_UNREGISTERED`, so the dashboard shows both kinds."""
    today = card_day(datetime.now().astimezone())
    rows = ["exam,site,room,id_number"]
    for city in CITIES:
        for site in SITES:
            for room in ROOMS:
                cards = generated_test_cards(_seed(city, site, room), DEMO_CARDS, today=today)
                rows += [f"{DEMO_EXAM},{city}/{site},{room},{c.number}" for c in cards[:-DEMO_UNREGISTERED]]
    return "\n".join(rows) + "\n"


def _import_roster(demo_dir: Path, hub_cfg: Path) -> None:
    """Make the demo exam's roster the one in force; the hub then pushes key and rooms to every agent."""
    csv = demo_dir / "roster.csv"
    csv.write_text(roster_csv(), encoding="ascii")
    csv.chmod(0o600)
    argv = _cli("hub", "roster", "import", "--config", str(hub_cfg), str(csv))
    done = subprocess.run(argv, capture_output=True, timeout=120, check=False)
    if done.returncode != 0:
        log.warning("the demo roster was not imported: %s", done.stderr.decode(errors="replace").strip())


def _commission(demo_dir: Path, configs: list[Path]) -> None:
    """Take each vault camera's reference view once, in parallel, so tamper checks run from the start."""
    pending = []
    for config in configs:
        if (config.parent / baseline_dir(*config.stem.split("-", 1)) / "vault-cam-1.baseline.json").exists():
            continue
        argv = _cli("agent", "commission-camera", "--config", str(config), "--camera", "vault-cam-1")
        pending.append(subprocess.Popen([*argv, "--seconds", "4", "--frames", "8"], stdout=subprocess.DEVNULL))
    for proc in pending:
        if proc.wait(timeout=120) != 0:
            log.warning("a camera could not be commissioned; it runs without tamper checks (see its state)")


def _start_site(procs: Processes, info: StackInfo, demo_dir: Path, city: str, site: str) -> Path:
    """Start the site's simulated card readers and write its agent config (the agent starts later)."""
    for room in ROOMS:
        link = reader_link(demo_dir, city, site, room)
        simulate = ["simulate", "idcard", "--link", str(link), "--seed", str(_seed(city, site, room))]
        cards = ["--cards", str(DEMO_CARDS)]
        faults = ["--card-every", "20", "--faults", "all", "--fault-every", "300", "--fault-for", "15"]
        procs.start(f"reader {city}/{site}/{room}", _cli(*simulate, *cards, *faults))
    config = demo_dir / f"{city}-{site}.toml"
    config.write_text(agent_config(info, demo_dir, city, site), encoding="utf-8")
    return config


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    state_dir: Path = args.state_dir or default_state_dir()
    stack = Stack(StackSettings(state_dir=state_dir, mqtt_port=args.mqtt_port, pg_port=args.pg_port))
    was_running = stack.is_running()
    info = stack.up()
    demo_dir = (state_dir / "demo").resolve()
    (demo_dir / "readers").mkdir(parents=True, exist_ok=True)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())

    procs = Processes(demo_dir)
    try:
        hub_cfg = demo_dir / "hub.toml"
        hub_cfg.write_text(hub_config(info, args.http_port), encoding="utf-8")
        procs.start("hub", _cli("hub", "--config", str(hub_cfg)))
        url = f"http://127.0.0.1:{args.http_port}/"
        if not _wait_http(url + "healthz", 60):
            print(f"the hub did not come up; see {demo_dir / 'hub.log'}", file=sys.stderr)
            return 1
        users = _sign_up(hub_cfg)
        _import_roster(demo_dir, hub_cfg)

        configs = [_start_site(procs, info, demo_dir, city, site) for city in CITIES for site in SITES]
        _commission(demo_dir, configs)
        for config in configs:
            procs.start(f"agent {config.stem}", _cli("agent", "--config", str(config)))

        print(f"\nSiteWatch demo is running: dashboard {url}", flush=True)
        for username, password, role in users:
            print(f"  sign in as {username} / {password}  ({role})", flush=True)
        print(f"  {len(configs)} agents, logs in {demo_dir}; Ctrl-C stops everything.\n", flush=True)
        deadline = None if args.duration is None else time.monotonic() + args.duration
        while not stop.wait(1.0):
            exited = procs.first_exited()
            if exited is not None:
                log.warning("%s exited with code %s; see its log in %s", exited[0], exited[1], demo_dir)
                stop.set()
            if deadline is not None and time.monotonic() > deadline:
                break
        return 0
    finally:
        procs.stop_all()
        if not was_running:
            stack.down()
        print("demo stopped", flush=True)
