"""``sitewatch hub roster import FILE --config HUB.toml``: make a CSV the exam's roster in force.

FILE has the header ``exam,site,room,id_number`` (site as ``<city>/<site>``), one candidate a row, one
exam a file.  Everything is checked first (every problem on stderr with its line, never the number on
it); then the exam's key is made on its first import, each number becomes its keyed HMAC and masked
form, and only those are stored, replacing the exam's previous roster.  Every running hub pushes each
agent its site's rooms and the key within a second (hub/roster/push.py).  Exit status 0 imported, 1 the
database refused or is unreachable, 2 the file is invalid.
"""

from __future__ import annotations

import argparse
import secrets
import sys
from datetime import UTC, datetime
from pathlib import Path

from hub.roster.errors import RosterError, RosterProblem
from hub.roster.load import parse_roster

KEY_BYTES = 32


def add_hub_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="roster_action", metavar="ACTION", required=True)
    imp = sub.add_parser("import", help="check a candidate roster CSV and make it the exam's roster in force")
    # Its own dest: argparse lets a subcommand's defaults overwrite the parent's values.
    imp.add_argument("--config", dest="roster_config", metavar="FILE", help="hub config (TOML)")
    imp.add_argument("file", type=Path, metavar="FILE", help="CSV: exam,site,room,id_number (hub/roster/README.md)")


def run_hub(args: argparse.Namespace) -> int:
    from agent.drivers.idcard.privacy import CandidateKey  # noqa: PLC0415  # the import's side only
    from hub.import_cli import CliExit, hub_database, require_config, who  # noqa: PLC0415
    from hub.roster.load import hash_roster  # noqa: PLC0415
    from hub.store.roster import exam_key, store_roster  # noqa: PLC0415
    from protocol.messages import key_id  # noqa: PLC0415

    command = "sitewatch hub roster"
    file = str(args.file)
    try:
        config_path = require_config(args.roster_config or args.config, command)
        try:
            roster = parse_roster(Path(args.file).read_text(encoding="utf-8"), file)
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not a UTF-8 text file"
            print(RosterError(file, [RosterProblem(None, f"cannot read: {reason}")]), file=sys.stderr)
            return 2
        except RosterError as exc:
            print(exc, file=sys.stderr)
            return 2
        now = datetime.now(UTC)
        with hub_database(config_path, command, "sitewatch-roster-cli") as conn:
            key = exam_key(conn, roster.exam, lambda: secrets.token_bytes(KEY_BYTES), now)
            entries = hash_roster(roster, CandidateKey(key))
            version = store_roster(
                conn,
                exam=roster.exam,
                entries=entries,
                source=Path(args.file).name,
                imported_by=f"cli:{who()}",
                now=now,
            )
    except CliExit as exc:
        return exc.status
    rooms = {(e.city, e.site, e.room) for e in entries}
    sites = {(e.city, e.site) for e in entries}
    print(
        f"{file}: imported as version {version}: exam {roster.exam} (key {key_id(key)}), "
        f"{len(entries)} candidate(s) in {len(rooms)} room(s) at {len(sites)} site(s)"
    )
    return 0
