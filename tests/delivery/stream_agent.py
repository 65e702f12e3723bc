"""A seq-numbered test stream: one agent whose only device emits ``stream.tick`` events n = 0 … total-1.

Run by the delivery fault tests as a real process (``python stream_agent.py …``), so it can be killed
with SIGKILL and started again on the same outbox file.  It is wired exactly as :class:`agent.runner.
AgentRunner` wires an agent (link, outbox sink, pump, supervisor), except that the supervisor gets the
stream driver and a short tick, and the process ends by itself: once the last event is produced it stops
producing, keeps delivering until the hub has confirmed everything (the outbox is empty), closes the
link and writes a JSON summary.  Exit 0: drained; 3: not drained in time; 2: stopped by a signal.

Where the stream resumes after a kill -9 must be exactly where the outbox ends, or the test would
count a lost event or a repeated one: so the position is kept *in the outbox file*, by a trigger that
moves it in the same SQLite transaction that stores the event's record.  An event the driver handed
over but the outbox never stored was never produced, as far as delivery is concerned.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sqlite3
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Literal

from agent.config import parse_config
from agent.delivery import OutboxSink
from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.link import Link
from agent.outbox import SqliteOutbox
from agent.pump import Pump
from agent.supervisor import Supervisor, new_boot_id
from protocol.messages import Death, DeviceState

EVENT = "stream.tick"

# The outbox's own table is created by SqliteOutbox before this runs.
_PROGRESS = f"""
BEGIN IMMEDIATE;
CREATE TABLE IF NOT EXISTS stream_progress (id INTEGER PRIMARY KEY CHECK (id = 1), next_n INTEGER NOT NULL);
INSERT OR IGNORE INTO stream_progress (id, next_n) VALUES (1, 0);
CREATE TRIGGER IF NOT EXISTS stream_progress_append AFTER INSERT ON outbox
WHEN json_extract(CAST(NEW.payload AS TEXT), '$.name') = '{EVENT}'
BEGIN
    UPDATE stream_progress SET next_n = json_extract(CAST(NEW.payload AS TEXT), '$.details.n') + 1 WHERE id = 1;
END;
COMMIT;
"""

log = logging.getLogger("stream-agent")


class StreamConfig(DeviceConfig):
    driver: Literal["test-stream"] = "test-stream"


class StreamDriver(Driver[StreamConfig]):
    kind = "other"

    def __init__(self, config: StreamConfig, *, first: int, total: int, per_poll: int) -> None:
        super().__init__(config)
        self.next_n = first
        self.total = total
        self.per_poll = per_poll
        # Set once every event is stored: events() is asked again only after the supervisor has
        # stored what the previous call returned.
        self.finished = threading.Event()
        self._now = datetime.now(UTC)

    def start(self) -> None:
        pass

    def poll(self, now: datetime) -> DeviceState:
        self._now = now
        return self.state("ok", {"stream": "on"})

    def events(self) -> list[DriverEvent]:
        if self.next_n >= self.total:
            self.finished.set()
            return []
        upto = min(self.total, self.next_n + self.per_poll)
        out = [DriverEvent(EVENT, "info", self._now, {"n": n}) for n in range(self.next_n, upto)]
        self.next_n = upto
        return out

    def close(self) -> None:
        pass


def durable_progress(outbox_file: Path) -> int:
    """Install the progress trigger (once) and return the first n not yet stored in any run."""
    db = sqlite3.connect(outbox_file, isolation_level=None)
    try:
        db.executescript(_PROGRESS)
        return int(db.execute("SELECT next_n FROM stream_progress").fetchone()[0])
    finally:
        db.close()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--agent", required=True, help="city/site/name")
    p.add_argument("--broker", required=True, help="host:port")
    p.add_argument("--outbox", required=True, type=Path)
    p.add_argument("--summary", required=True, type=Path, help="where the JSON summary goes")
    p.add_argument("--total", required=True, type=int, help="events to produce over all runs")
    p.add_argument("--rate", type=float, default=40.0, help="events per second")
    p.add_argument("--tick-s", type=float, default=0.05)
    p.add_argument("--heartbeat-s", type=float, default=0.5)
    p.add_argument("--state-interval-s", type=float, default=1.0)
    p.add_argument("--resend-after-s", type=float, default=2.0)
    p.add_argument("--drain-timeout-s", type=float, default=120.0)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    city, site, name = args.agent.split("/")
    host, port = args.broker.rsplit(":", 1)
    config = parse_config(
        {
            "agent": {
                "city": city,
                "site": site,
                "name": name,
                "heartbeat_s": args.heartbeat_s,
                "state_interval_s": args.state_interval_s,
            },
            "broker": {"host": host, "port": int(port), "reconnect_min_s": 0.2, "reconnect_max_s": 1.0},
            "outbox": {"resend_after_s": args.resend_after_s, "capacity": 200_000},
            # Required by the schema; the supervisor below is given the stream driver instead.
            "devices": [{"driver": "sim-camera", "id": "stream-1"}],
        },
        "stream-agent",
    )
    outbox = SqliteOutbox(args.outbox, config.outbox.capacity)
    first = durable_progress(args.outbox)
    boot = new_boot_id()
    path = config.agent.path
    will = Death(agent=path.agent_id, boot=boot, seq=0, ts=datetime.now(UTC), reason="will")
    link = Link(config.broker, path, will)
    sink = OutboxSink(outbox)
    pump = Pump(outbox, link, sink, path, resend_after_s=config.outbox.resend_after_s)
    link.subscriptions = pump.subscriptions
    link.on_message = pump.on_message
    per_poll = max(1, round(args.rate * args.tick_s))
    driver = StreamDriver(StreamConfig(id="stream-1"), first=first, total=args.total, per_poll=per_poll)
    supervisor = Supervisor(config, sink, boot=boot, drivers=[driver], tick_s=args.tick_s, outbox_stats=outbox.stats)
    link.on_connected = supervisor.notify_connected

    stopped = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopped.set()
        supervisor.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    log.info("boot %s: stream from n=%d to %d, %d pending in the outbox", boot, first, args.total, outbox.stats().depth)
    began = time.monotonic()
    pump_stop = threading.Event()
    pump_thread = threading.Thread(target=pump.run, args=(pump_stop,), name="agent-pump", daemon=True)
    producer = threading.Thread(target=supervisor.run, name="agent-supervisor", daemon=True)
    link.start()
    pump_thread.start()
    producer.start()
    while not driver.finished.wait(0.1) and not stopped.is_set():
        pass
    supervisor.request_stop()
    producer.join(10)
    produced_s = time.monotonic() - began
    log.info("production over after %.1f s; draining %d records", produced_s, outbox.stats().depth)
    deadline = time.monotonic() + args.drain_timeout_s
    drained = False
    while not stopped.is_set() and time.monotonic() < deadline:
        if outbox.stats().depth == 0:
            drained = True
            break
        time.sleep(0.05)
    pump_stop.set()
    sink.wake.set()
    pump_thread.join(10)
    link.close()
    depth = outbox.stats().depth
    outbox.close()
    c = pump.counters
    summary = {
        "boot": boot,
        "first_n": first,
        "next_n": driver.next_n,
        "drained": drained,
        "depth": depth,
        "produced_s": round(produced_s, 2),
        "total_s": round(time.monotonic() - began, 2),
        # Births are seq 0; every heartbeat, state and event took the next number.
        "last_seq": supervisor.counters.heartbeats + supervisor.counters.states + supervisor.counters.events,
        "published": c.published,
        "replayed": c.replayed,
        "confirmed": c.confirmed,
        "refused": c.refused,
        "resends": c.resends,
        "commands": c.commands,
        "connects": link.counters.connects,
    }
    args.summary.write_text(json.dumps(summary) + "\n", encoding="utf-8")
    log.info("summary: %s", summary)
    if stopped.is_set():
        return 2
    return 0 if drained else 3


if __name__ == "__main__":
    sys.exit(main())
