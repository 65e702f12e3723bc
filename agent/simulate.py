"""``sitewatch simulate KIND ...``: run a device simulator, for the demo, the benchmark and bench tests.

Each kind is a module with ``add_arguments(parser)`` and ``run(args) -> int``, imported only when chosen,
like the top-level subcommands; another simulator joins by adding one line to :data:`SIMULATORS`.
Also runnable as ``python -m agent.simulate KIND ...``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol, cast

# kind → (module, one-line help)
SIMULATORS: dict[str, tuple[str, str]] = {
    "idcard": ("agent.drivers.idcard.sim.cli", "a SAM ID-card reader on a pty, with generated test cards and faults"),
}


class _Simulator(Protocol):
    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def _load(kind: str) -> _Simulator:
    return cast(_Simulator, importlib.import_module(SIMULATORS[kind][0]))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="simulator", metavar="KIND", required=True)
    for kind, (_module, help_text) in SIMULATORS.items():
        _load(kind).add_arguments(sub.add_parser(kind, help=help_text, description=help_text))


def run(args: argparse.Namespace) -> int:
    return _load(args.simulator).run(args)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sitewatch simulate", description="Run a device simulator.")
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
