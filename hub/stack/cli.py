"""``sitewatch stack up|down|status``: the local Mosquitto and PostgreSQL for development.

``status`` exits 0 when every service runs and 3 otherwise, so scripts can test it; errors exit 1.
Ports default to the ones the last ``up`` used in the same state directory, so ``down`` and ``status``
need no flags.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from hub.stack.errors import StackError
from hub.stack.settings import StackSettings
from hub.stack.stack import Stack, recorded_settings

EXIT_NOT_RUNNING = 3


def default_state_dir() -> Path:
    """``$SITEWATCH_STATE``, else ``.state`` in the source checkout (or the current directory)."""
    env = os.environ.get("SITEWATCH_STATE")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]
    return (checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()) / ".state"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=("up", "down", "status"))
    parser.add_argument(
        "--state-dir", type=Path, default=None, help="configs, data, logs, PIDs (default: $SITEWATCH_STATE or .state)"
    )
    parser.add_argument("--mqtt-port", type=int, default=None, help="broker port (default: last up's, else 18830)")
    parser.add_argument("--pg-port", type=int, default=None, help="PostgreSQL port (default: last up's, else 15432)")
    parser.add_argument(
        "--mqtt-tls-port",
        type=int,
        default=None,
        help="also a TLS listener requiring client certificates from the private CA (default: last up's, else none)",
    )


def _port(given: int | None, recorded: object, default: int) -> int:
    if given is not None:
        return given
    return recorded if isinstance(recorded, int) else default


def _settings(args: argparse.Namespace) -> StackSettings:
    state_dir: Path = (args.state_dir or default_state_dir()).absolute()
    last = recorded_settings(state_dir)
    defaults = StackSettings(state_dir=state_dir)
    return StackSettings(
        state_dir=state_dir,
        mqtt_port=_port(args.mqtt_port, last.get("mqtt_port"), defaults.mqtt_port),
        pg_port=_port(args.pg_port, last.get("pg_port"), defaults.pg_port),
        mqtt_tls_port=args.mqtt_tls_port if args.mqtt_tls_port is not None else _optional(last.get("mqtt_tls_port")),
    )


def _optional(recorded: object) -> int | None:
    return recorded if isinstance(recorded, int) else None


def _masked(dsn: str) -> str:
    parts = urlsplit(dsn)
    netloc = f"{parts.username}:***@{parts.netloc.rpartition('@')[2]}"
    return urlunsplit(parts._replace(netloc=netloc))


def _print_status(status: dict[str, object]) -> bool:
    print(f"{'service':<10} {'running':<8} {'pid':<8} port")
    all_running = True
    for name, entry in status.items():
        assert isinstance(entry, dict)
        running = bool(entry["running"])
        all_running &= running
        pid = entry["pid"] if entry["pid"] is not None else "-"
        print(f"{name:<10} {'yes' if running else 'no':<8} {pid!s:<8} {entry['port']}")
    return all_running


def run(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = _settings(args)
    stack = Stack(settings)
    try:
        if args.action == "up":
            info = stack.up()
            print(f"mqtt      {info.mqtt_host}:{info.mqtt_port}")
            if info.mqtt_tls_port is not None:
                print(f"mqtt tls  {info.mqtt_host}:{info.mqtt_tls_port} (CA {info.pki_dir}/ca.pem)")
            print(f"postgres  {_masked(info.dsn)}")
            print(f"password  {settings.state_dir / 'pg' / 'password'}")
            print(f"state     {settings.state_dir}")
        elif args.action == "down":
            stack.down()
            print(f"stopped the stack in {settings.state_dir}")
        elif not _print_status(stack.status()):
            return EXIT_NOT_RUNNING
    except StackError as exc:
        print(f"sitewatch stack {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0
