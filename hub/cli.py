"""The ``sitewatch`` command: one entry point, subcommands imported lazily.

Each subcommand lives in its own module exposing ``add_arguments(parser)`` and ``run(args) -> int``;
importing lazily keeps ``sitewatch agent`` free of the hub's dependencies (FastAPI, psycopg) at start-up.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

# subcommand → (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "hub": ("hub.app", "run the hub: MQTT ingest, liveness, alerts and the dashboard"),
    "agent": ("agent.cli", "run a site agent (or commission its devices)"),
    "check-config": ("agent.check_config", "validate an agent or hub config file and exit"),
    "stack": ("hub.stack.cli", "start, stop or inspect the local Mosquitto and PostgreSQL"),
    "calendar": ("hub.calendar.cli", "check an exam calendar file against the sites' agent configs"),
    "pki": ("hub.pki.cli", "the private CA: TLS certificates for agents, hubs and the broker"),
    "simulate": ("agent.simulate", "run a device simulator (idcard: a SAM reader on a pty)"),
    "demo": ("hub.demo", "run the whole system locally with simulated sites and print the dashboard URL"),
}


class _Subcommand(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(name: str) -> _Subcommand:
    return cast(_Subcommand, importlib.import_module(SUBCOMMANDS[name][0]))


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="sitewatch", description="SiteWatch: exam-site equipment watch.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (_module, help_text) in SUBCOMMANDS.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        if name == chosen:
            _load(name).add_arguments(sp)
    args = parser.parse_args(argv)
    return _load(args.command).run(args)


if __name__ == "__main__":
    sys.exit(main())
