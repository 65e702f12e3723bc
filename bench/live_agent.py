"""Site agents run as on a site, for memory figures: ``sitewatch agent --config FILE``, connected over TLS
(client certificate from our CA) to a real Mosquitto on loopback, with its SQLite outbox on disk.

No hub runs: every message stays in the outbox and the pump resends what is not confirmed, as during a hub
outage, the case in which the agent holds the most.  Each agent's RSS is read from
``/proc/PID/smaps_rollup`` once a second for the whole run (the clips loop, so it covers entries, exits and
the empty room several times); every process started here is stopped by its PID.
"""

from __future__ import annotations

import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from common import wait_for

ROOT = Path(__file__).resolve().parents[1]

from hub.pki.authority import Pki  # noqa: E402
from hub.stack.mosquitto import Mosquitto  # noqa: E402
from hub.stack.process import free_port  # noqa: E402
from hub.stack.settings import StackSettings  # noqa: E402

HOST = "127.0.0.1"


@dataclass
class Samples:
    """One process's memory, once a second: RSS and its anonymous part (MB), and its CPU time (s)."""

    rss: list[float] = field(default_factory=list)
    anonymous: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    wall_s: float = 0.0

    def summary(self) -> dict[str, Any]:
        peak = max(range(len(self.rss)), key=self.rss.__getitem__)
        half = self.rss[len(self.rss) // 2 :]
        return {
            "rss_max_mb": round(self.rss[peak], 1),
            "anonymous_at_max_mb": round(self.anonymous[peak], 1),
            "rss_median_second_half_mb": round(statistics.median(half), 1),
            # What a measurement a few seconds after start would have shown.
            "rss_at_8s_mb": round(self.rss[min(7, len(self.rss) - 1)], 1),
            "seconds": len(self.rss),
            "cpu_pct": round(100 * self.cpu_s / self.wall_s, 2) if self.wall_s else 0.0,
        }


def read_memory(pid: int) -> tuple[float, float]:
    fields = dict(line.split()[:2] for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
    return int(fields["Rss:"]) / 1024, int(fields["Anonymous:"]) / 1024


def cpu_seconds(pid: int) -> float:
    # /proc/PID/stat: utime and stime are fields 14 and 15, after the parenthesised command name.
    after = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(after[11]) + int(after[12])) / os.sysconf("SC_CLK_TCK")


def _born(log: Path) -> bool:
    return "birth published" in log.read_text(errors="replace")


def camera_table(i: int, source: str, baselines: Path) -> str:
    return (
        "[[devices]]\n"
        'driver = "camera"\n'
        f'id = "cam{i}"\n'
        'room = "vault"\n'
        f'source = "{source}"\n'
        "loop = true\n"
        "person_min_height = 0.7\n"
        f'baseline_dir = "{baselines}"\n'
    )


def agent_config(name: str, port: int, bundle_folder: Path, cameras: int, source: str, baselines: Path) -> str:
    head = (
        f'[agent]\ncity = "bench"\nsite = "mem"\nname = "{name}"\n\n'
        f'[broker]\nhost = "{HOST}"\nport = {port}\n'
        f'tls_ca = "{bundle_folder / "ca.pem"}"\ntls_cert = "{bundle_folder / "cert.pem"}"\n'
        f'tls_key = "{bundle_folder / "key.pem"}"\n\n'
    )
    return head + "\n".join(camera_table(i, source, baselines) for i in range(cameras))


@contextlib.contextmanager
def tls_broker(folder: Path, agents: Sequence[str]) -> Iterator[tuple[int, dict[str, Path]]]:
    """A Mosquitto with the stack's TLS listener; yields its port and each agent's certificate folder."""
    settings = StackSettings(state_dir=folder, mqtt_port=free_port(), mqtt_tls_port=free_port())
    pki = Pki(settings.pki_root)
    pki.init("bench")
    bundles = {agent: pki.issue("agent", agent).folder for agent in agents}
    broker = Mosquitto(settings)
    broker.start()
    try:
        assert settings.mqtt_tls_port is not None
        yield settings.mqtt_tls_port, bundles
    finally:
        broker.stop()


def run(cameras: Sequence[int], source: str, baselines: Path, seconds: float) -> list[Samples]:
    """One agent per entry of ``cameras`` (that many cameras each), all at once; their samples."""
    names = [f"a{i}" for i in range(len(cameras))]
    with (
        tempfile.TemporaryDirectory() as tmp,
        tls_broker(Path(tmp) / "stack", [f"bench/mem/{n}" for n in names]) as (
            port,
            bundles,
        ),
    ):
        procs: list[subprocess.Popen[bytes]] = []
        logs: list[Path] = []
        try:
            for name, count in zip(names, cameras, strict=True):
                config = Path(tmp) / f"{name}.toml"
                config.write_text(agent_config(name, port, bundles[f"bench/mem/{name}"], count, source, baselines))
                logs.append(Path(tmp) / f"{name}.log")
                with logs[-1].open("wb") as log:
                    procs.append(
                        subprocess.Popen(
                            [sys.executable, "-m", "hub.cli", "agent", "--config", str(config)],
                            cwd=ROOT,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        )
                    )
            for log_path in logs:
                wait_for(partial(_born, log_path), 30, f"the birth of {log_path.stem}")
            samples = [Samples() for _ in procs]
            starts = [cpu_seconds(p.pid) for p in procs]
            t0 = time.monotonic()
            while time.monotonic() < t0 + seconds:
                for proc, sample in zip(procs, samples, strict=True):
                    if proc.poll() is not None:
                        raise RuntimeError(f"agent {proc.pid} exited: {proc.returncode}")
                    rss, anonymous = read_memory(proc.pid)
                    sample.rss.append(rss)
                    sample.anonymous.append(anonymous)
                time.sleep(1.0)
            wall = time.monotonic() - t0
            for proc, sample, start in zip(procs, samples, starts, strict=True):
                sample.cpu_s, sample.wall_s = cpu_seconds(proc.pid) - start, wall
            for log_path in logs:
                text = log_path.read_text(errors="replace")
                if "Traceback" in text or " ERROR " in text:
                    raise RuntimeError(f"{log_path.name}:\n{text[-2000:]}")
            return samples
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=5)
