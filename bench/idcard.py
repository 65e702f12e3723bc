"""Benchmark: card reads per minute one reader supervisor sustains against the simulator at 115200 baud.

    .venv/bin/python bench/idcard.py [--seconds 15] [--out bench/results/idcard.json]

The simulator runs in its own process (``python -m agent.simulate idcard --bench``: a card is always
down, and after each read it is away for one find and the next generated card is put down), pacing its
answers at the baud rate as a real line would.  Measured in the same run:

* the wire limit: a bare loop sending ``30 01`` and reading the 1,295-byte answer (no find, no select, no
  parsing beyond the frame), against the theoretical ``1295 × 10 / baud`` ≈ 0.112 s;
* the idcard-sam driver with its default timings (one find every 0.25 s) and with ``find_interval_s``
  at its floor (0.01 s): reads per minute, the ratio to the wire limit, and this process's CPU time per
  read (the driver is all this process runs; the simulator's CPU is not counted).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from common import machine  # noqa: E402

from agent.drivers.idcard.commands import Command  # noqa: E402
from agent.drivers.idcard.driver import IdcardSam, IdcardSamConfig  # noqa: E402
from agent.drivers.idcard.frames import Frame, FrameParser  # noqa: E402
from agent.drivers.idcard.serialport import SerialPort  # noqa: E402
from protocol.validation import convert  # noqa: E402

BAUD = 115200
READ_REPLY = 1295


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def wire_limit(path: str, reads: int) -> float:
    """Seconds per bare ``30 01`` exchange through the same pty and simulator."""
    port = SerialPort(path, BAUD)
    try:
        times = []
        for _ in range(reads):
            parser = FrameParser()
            start = time.perf_counter()
            port.write(Command.READ.frame())
            deadline = time.monotonic() + 2
            frame = None
            while frame is None and time.monotonic() < deadline:
                for item in parser.feed(port.read(parser.needed(), deadline)):
                    frame = item
            if not isinstance(frame, Frame) or len(frame.body) + 8 != READ_REPLY:
                raise SystemExit(f"bare read failed: {frame}")
            times.append(time.perf_counter() - start)
    finally:
        port.close()
    times.sort()
    return times[len(times) // 2]


def run_driver(path: str, seconds: float, **timing: Any) -> dict[str, Any]:
    config = convert(
        {"id": "bench-reader", "room": "bench", "port": path, "hotplug": False, "same_card_quiet_s": 0.0, **timing},
        IdcardSamConfig,
    )
    driver = IdcardSam(config)
    driver.start()
    try:
        deadline = time.monotonic() + 10
        while driver.poll(datetime.now(UTC)).details["state"] not in ("ready", "waiting_removal", "card_present"):
            if time.monotonic() > deadline:
                raise SystemExit("the driver never found the simulated reader")
            time.sleep(0.05)
        driver.events()
        first = driver.poll(datetime.now(UTC)).details
        cpu0, t0 = cpu_s(), time.monotonic()
        events = 0
        # The agent polls once a second; so does this loop.
        while time.monotonic() - t0 < seconds:
            time.sleep(1.0)
            driver.poll(datetime.now(UTC))
            events += sum(e.name == "idcard.checkin" for e in driver.events())
        elapsed, cpu = time.monotonic() - t0, cpu_s() - cpu0
        last = driver.poll(datetime.now(UTC)).details
    finally:
        driver.close()
    reads = int(last["reads_ok"]) - int(first["reads_ok"])  # type: ignore[call-overload]
    return {
        "timing": timing or "defaults",
        "seconds": round(elapsed, 2),
        "reads": reads,
        "checkin_events": events,
        "reads_failed": int(last["reads_failed"]) - int(first["reads_failed"]),  # type: ignore[call-overload]
        "timeouts": last["timeouts"],
        "reads_per_min": round(reads * 60 / elapsed, 1),
        "read_ms_mean": last["read_ms_mean"],
        "read_ms_max": last["read_ms_max"],
        "cpu_ms_per_read": round(cpu * 1000 / reads, 3) if reads else None,
        "cpu_percent": round(100 * cpu / elapsed, 2),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15.0, help="measurement time per driver run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "idcard.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "reader"
        argv = [sys.executable, "-m", "agent.simulate", "idcard", "--link", str(link), "--bench", "--cards", "50"]
        sim = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            assert sim.stdout is not None
            if not sim.stdout.readline().startswith("ready "):
                raise SystemExit("the simulator did not start")
            per_read = wire_limit(str(link), 40)
            default = run_driver(str(link), args.seconds)
            tight = run_driver(str(link), args.seconds, find_interval_s=0.01)
        finally:
            sim.terminate()
            sim.wait(10)
    wire_per_min = 60 / per_read
    for result in (default, tight):
        result["ratio_to_wire_limit"] = round(result["reads_per_min"] / wire_per_min, 3)
    report = {
        "benchmark": "idcard reader supervisor vs simulated SAM reader at 115200 baud",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "baud": BAUD,
        "wire_limit": {
            "reply_bytes": READ_REPLY,
            "theoretical_s": round(READ_REPLY * 10 / BAUD, 4),
            "measured_s": round(per_read, 4),
            "reads_per_min": round(wire_per_min, 1),
        },
        "driver_default_timing": default,
        "driver_find_interval_0_01": tight,
        "note": (
            "A driver read is find + select + read, then finds until the card is away: it cannot reach the "
            "bare-read wire limit; the ratio shows what the protocol cycle and the driver's pacing cost."
        ),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
