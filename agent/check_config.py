"""``sitewatch check-config FILE``: validate a config file without running anything.

An agent config is checked here; a file with a top-level ``[hub]`` table is a hub config and is handed
to ``hub.config.load_config``, imported only then so checking an agent config never loads the hub.
Exit status 0 when the file is valid, 2 when it is not (every problem found is printed to stderr).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from agent.config import parse_config, read_toml, resolve_files
from agent.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="an agent or hub TOML config")


def run(args: argparse.Namespace) -> int:
    file = str(args.file)
    try:
        data = read_toml(args.file)
        if "hub" in data:
            return _check_hub(args.file)
        config = resolve_files(parse_config(data, file), args.file)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    count = len(config.devices)
    print(f"{file}: OK (agent {config.agent.agent_id}, {count} device{'' if count == 1 else 's'})")
    return 0


def _check_hub(path: Path) -> int:
    try:
        from hub.config import load_config  # noqa: PLC0415  # lazy: agent machines need not load the hub
        from hub.errors import HubConfigError  # noqa: PLC0415
    except ImportError:
        print(f"{path}: a hub config, but this build cannot check hub configs", file=sys.stderr)
        return 2
    try:
        load_config(path)
    except HubConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{path}: OK (hub)")
    return 0
