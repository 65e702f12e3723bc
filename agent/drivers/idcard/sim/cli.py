"""``sitewatch simulate idcard``: a SAM reader on a pty, with scripted generated test cards and faults.

    sitewatch simulate idcard --link /tmp/reader-101 --card-every 8 --dwell 2 \\
        --faults silence,sw3_41 --fault-every 60 --fault-for 10 \\
        --key-file /tmp/exam.key --roster-out /tmp/room-101.roster

An agent then reads from it with ``driver = "idcard-sam"`` and ``port = "/tmp/reader-101"``.  With
``--key-file`` the HMACs of all but the last ``--unregistered`` cards are written to ``--roster-out``, so a
demo shows both registered and unregistered candidates.  Runs until SIGINT / SIGTERM or ``--duration``.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import datetime
from pathlib import Path
from types import FrameType

from agent.drivers.idcard.checkin import card_day
from agent.drivers.idcard.errors import ProvisioningError
from agent.drivers.idcard.privacy import load_key
from agent.drivers.idcard.replies import encode_sam_id
from agent.drivers.idcard.sim.cards import generated_test_cards
from agent.drivers.idcard.sim.model import Fault, SamModel
from agent.drivers.idcard.sim.pty import PtySamReader
from agent.drivers.idcard.sim.script import Script

log = logging.getLogger("sitewatch.simulate.idcard")


def _faults(text: str) -> tuple[Fault, ...]:
    if text == "all":
        return tuple(Fault)
    try:
        return tuple(Fault(name.strip()) for name in text.split(",") if name.strip())
    except ValueError as exc:
        known = ", ".join(f.value for f in Fault)
        raise argparse.ArgumentTypeError(f"{exc}; known faults: {known}, or 'all'") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--link", type=Path, required=True, help="symlink to create to the pty the driver opens")
    parser.add_argument("--baud", type=int, default=115200, help="line speed to pace answers at; 0: unpaced")
    parser.add_argument("--seed", type=int, default=1, help="seed of the generated cards and the SAM id")
    parser.add_argument("--cards", type=int, default=20, help="how many generated test cards to cycle through")
    parser.add_argument("--card-every", type=float, default=8.0, metavar="S", help="a card is put down every S s")
    parser.add_argument("--dwell", type=float, default=2.0, metavar="S", help="and lies on the reader for S s")
    parser.add_argument("--faults", type=_faults, default=(), help="comma-separated faults to cycle, or 'all'")
    parser.add_argument("--fault-every", type=float, default=0.0, metavar="S", help="a fault period; 0: no faults")
    parser.add_argument("--fault-for", type=float, default=5.0, metavar="S", help="fault length in each period")
    parser.add_argument("--delay", type=float, default=0.3, metavar="S", help="answer delay of the 'delayed' fault")
    parser.add_argument("--bench", action="store_true", help="a card is always there, a new one after every read")
    parser.add_argument("--duration", type=float, default=None, metavar="S", help="stop after S s")
    parser.add_argument("--key-file", type=Path, default=None, help="candidate key to write the roster with")
    parser.add_argument("--roster-out", type=Path, default=None, help="write the generated cards' HMACs here")
    parser.add_argument("--unregistered", type=int, default=2, help="cards left off the roster (default 2)")


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s %(message)s")
    if args.cards < 1:
        print("--cards must be at least 1", file=sys.stderr)
        return 2
    cards = generated_test_cards(args.seed, args.cards, today=card_day(datetime.now().astimezone()))
    if args.roster_out is not None:
        if args.key_file is None:
            print("--roster-out needs --key-file", file=sys.stderr)
            return 2
        try:
            key = load_key(args.key_file)
        except ProvisioningError as exc:
            print(exc, file=sys.stderr)
            return 2
        registered = cards[: max(0, len(cards) - args.unregistered)]
        args.roster_out.write_text("".join(key.digest(c.number) + "\n" for c in registered), encoding="ascii")
    try:
        script = None
        if not args.bench:
            script = Script(
                cards=len(cards),
                card_every_s=args.card_every,
                dwell_s=args.dwell,
                faults=args.faults,
                fault_every_s=args.fault_every,
                fault_for_s=args.fault_for,
            )
    except ValueError as exc:
        print(f"bad script: {exc}", file=sys.stderr)
        return 2
    sam = encode_sam_id(5, 1, 20240517, 10_000 + args.seed, 1_000_000 + args.seed)
    model = SamModel(sam, seed=args.seed, delay_s=args.delay)
    if args.bench:
        model.deck = list(cards)
        model.card = cards[0]
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    with PtySamReader(model, baud=args.baud, link=args.link, script=script, cards=cards) as sim:
        # One parseable line, flushed, so a parent process knows when the link is there.
        print(f"ready {sim.path} -> {sim.slave_name}", flush=True)
        log.info("SAM reader simulator on %s: %d generated cards", sim.slave_name, len(cards))
        stop.wait(args.duration)
    return 0
