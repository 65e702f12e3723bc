"""The calendar commands.

``sitewatch calendar check FILE [--agent-config AGENT.toml …]`` validates a calendar without a database.
With agent configs, their sites and device rooms are the inventory, so unknown sites and rooms are
caught too.  Exit status 0 when the calendar is valid, 2 when it is not (every problem on stderr).

``sitewatch hub calendar import FILE --config HUB.toml`` runs the same checks against the hub's own
inventory (the sites and rooms its agents have reported) and, if they pass, makes the file the calendar
in force: the rules engine picks it up within a tick, and every running hub pushes each agent its site's
slice (hub/calendar/push.py) within a second.  ``--skip-inventory`` imports before the agents
have ever connected (the other checks still run).  Exit status 0 imported, 1 the database refused or is
unreachable, 2 the file is invalid.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from hub.calendar.errors import CalendarError, CalendarProblem
from hub.calendar.load import Inventory, load_calendar, parse_calendar
from hub.calendar.model import Calendar


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
    _describe(str(args.file), calendar, "OK")
    return 0


def _describe(file: str, calendar: Calendar, verdict: str) -> None:
    sites = len(calendar.sites())
    print(
        f"{file}: {verdict} ({len(calendar.sessions)} session(s) at {sites} site(s), "
        f"custody for {len(calendar.custody)} city(ies))"
    )
    for session in calendar.sessions:
        print(f"  {session.start:%Y-%m-%d %H:%M}–{session.end:%H:%M}  {session.id}  {session.paper}")


# --- sitewatch hub calendar … ---------------------------------------------------------------------------


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="calendar_action", metavar="ACTION", required=True)
    imp = sub.add_parser(
        "import", help="check a calendar file against the hub's sites and rooms and make it the one in force"
    )
    # Its own dest: argparse lets a subcommand's defaults overwrite the parent's values.
    imp.add_argument("--config", dest="calendar_config", metavar="FILE", help="hub config (TOML)")
    imp.add_argument("file", type=Path, metavar="FILE", help="a calendar TOML file (hub/calendar/README.md)")
    imp.add_argument(
        "--skip-inventory",
        action="store_true",
        help="do not check sites and rooms against what the agents have reported (before any has connected)",
    )


def run_hub(args: argparse.Namespace) -> int:
    from hub.import_cli import CliExit, hub_database, require_config, who  # noqa: PLC0415  # the hub's side only
    from hub.store import calendar as plan  # noqa: PLC0415

    command = "sitewatch hub calendar"
    file = str(args.file)
    try:
        config_path = require_config(args.calendar_config or args.config, command)
        try:
            content = Path(args.file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            print(CalendarError(file, [CalendarProblem(None, "", f"cannot read: {exc}")]), file=sys.stderr)
            return 2
        with hub_database(config_path, command, "sitewatch-calendar-cli") as conn:
            inventory = None if args.skip_inventory else plan.inventory(conn)
            try:
                calendar = parse_calendar(content, file, inventory)
            except CalendarError as exc:
                print(exc, file=sys.stderr)
                return 2
            version = plan.store_calendar(
                conn,
                content=content,
                source=Path(args.file).name,
                sha256=hashlib.sha256(content.encode("utf-8")).hexdigest(),
                sessions=len(calendar.sessions),
                sites=len(calendar.sites()),
                imported_by=f"cli:{who()}",
                now=datetime.now(UTC),
            )
    except CliExit as exc:
        return exc.status
    _describe(file, calendar, f"imported as version {version}")
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
