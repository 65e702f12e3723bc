"""Run under ``umockdev-wrapper`` by test_idcard_hotplug_e2e.py: a whole agent whose ID-card reader sits
behind a fake udev, publishing to a real broker.

The CH340's tty is plugged in at start (pty-backed ``/dev/ttyUSB0``, the SAM simulator on the master side);
the agent (AgentRunner: supervisor, SQLite outbox, pump, paho link) finds it through real pyudev.  The test
drives the hardware over stdin, one word a line — ``remove``, ``add``, ``stop`` — and reads one JSON line per
step on stdout, with the wall time the uevent was sent (the test measures from it).  Agent logs go to stderr.

Usage: umockdev_agent.py HOST PORT CITY SITE KEY_FILE WORKDIR
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

from umockdev_hotplug import TTY, TTY_RECORD, ch340_testbed, say

from agent.config import parse_config
from agent.drivers.idcard.replies import encode_sam_id
from agent.drivers.idcard.sim.model import SamModel
from agent.drivers.idcard.sim.pty import PtySamReader
from agent.runner import AgentRunner

SAM = encode_sam_id(5, 1, 20240517, 777, 888)


def main() -> int:
    host, port, city, site, key_file, workdir = sys.argv[1:7]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")
    testbed = ch340_testbed()
    if not testbed.add_from_string(TTY_RECORD):
        say("error", what="umockdev refused the tty record")
        return 2
    sim = PtySamReader(SamModel(SAM), master_fd=testbed.get_dev_fd("/dev/ttyUSB0"))
    sim.start()
    reader = {
        "driver": "idcard-sam",
        "id": "reader-101",
        "room": "101",
        "label": "Room 101 door",
        "usb_ids": ["1a86:7523"],
        "hotplug": True,
        "timeout_s": 0.2,
        "read_timeout_s": 1.0,
        "find_interval_s": 0.05,
        "status_interval_s": 1.0,
        "retry_s": 0.2,
        "max_failures": 2,
        "key_file": key_file,
    }
    config = parse_config(
        {
            "agent": {"city": city, "site": site, "name": "a1", "heartbeat_s": 2.0, "state_interval_s": 2.0},
            "broker": {"host": host, "port": int(port)},
            "devices": [reader],
        },
        "umockdev-agent.toml",
    )
    runner = AgentRunner(config, Path(workdir) / "outbox.sqlite")
    runner.start()
    say("started", boot=runner.boot)
    try:
        for line in sys.stdin:
            word = line.strip()
            if word in ("remove", "add"):
                at = time.time()
                testbed.uevent(TTY, word)
                say(word, at=at)
            elif word == "stop":
                break
    finally:
        runner.stop()
        sim.close()
    say("stopped", births=runner.supervisor.counters.births, loop_errors=runner.supervisor.counters.loop_errors)
    return 0


if __name__ == "__main__":
    sys.exit(main())
