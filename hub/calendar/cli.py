"""``sitewatch calendar check FILE [--agent-config AGENT.toml …]``: validate a calendar without a database.

With agent configs, their sites and device rooms are the inventory, so unknown sites and rooms are
caught too.  Exit status 0 when the calendar is valid, 2 when it is not (every problem on stderr).
The hub's ``calendar import`` (which stores it) runs the same checks against the hub's own inventory;
see :func:`inventory_from_agent_configs` and :func:`hub.calendar.load_calendar`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from pathlib import Path

from hub.calendar.errors import CalendarError
from hub.calendar.load import Inventory, load_calendar


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = sub.add_parser("check", help="validate a calendar file and print what it holds")
    check.add_argument("file", type=Path, metavar="FILE", help="a calendar TOML file (hub/calendar/README.md)")
    check.add_argument(
        "--agent-config",
        type=Path,
        action="append",
        default=[],
        metavar="AGENT_TOML",
        help="an agent config whose site and rooms make up the inventory (repeatable)",
    )


def run(args: argparse.Namespace) -> int:
    from agent.errors import ConfigError  # noqa: PLC0415  # only this subcommand needs the agent's config

    try:
        inventory = inventory_from_agent_configs(args.agent_config) if args.agent_config else None
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    try:
        calendar = load_calendar(args.file, inventory)
    except CalendarError as exc:
        print(exc, file=sys.stderr)
        return 2
    sites = len(calendar.sites())
    print(
        f"{args.file}: OK ({len(calendar.sessions)} session(s) at {sites} site(s), "
        f"custody for {len(calendar.custody)} city(ies))"
    )
    for session in calendar.sessions:
        print(f"  {session.start:%Y-%m-%d %H:%M}–{session.end:%H:%M}  {session.id}  {session.paper}")
    return 0


def inventory_from_agent_configs(paths: Iterable[Path]) -> Inventory:
    """Sites (``<city>/<site>``) and the rooms their devices are in, from agent config files."""
    from agent.config import load_config  # noqa: PLC0415

    rooms: dict[str, set[str]] = {}
    for path in paths:
        config = load_config(path)
        site = config.agent.path.site_id
        rooms.setdefault(site, set()).update(d.room for d in config.devices if d.room is not None)
    return rooms
