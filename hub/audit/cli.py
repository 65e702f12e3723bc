"""``sitewatch hub audit verify|seal --config FILE``: prove the audit log's hash chain intact.

``verify`` walks every sealed row in chain order and names the first broken link (an edited row, a
deleted one, a link that points elsewhere); it only reads.  ``seal`` links rows written since the hub
last sealed (a running hub does this every second).  Exit status: 0 intact / done, 1 broken or the
database unreachable, 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import sys

from hub.config import load_config
from hub.errors import HubConfigError, HubError
from hub.store import audit_log, connect, migrate


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    for name, help_text in (
        ("verify", "check the audit log's hash chain; name the first broken link"),
        ("seal", "link the rows not yet in the chain"),
    ):
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Its own dest: argparse lets a subcommand's defaults overwrite the parent's values.
        p.add_argument("--config", dest="audit_config", metavar="FILE", help="hub config (TOML)")
        p.add_argument("--json", action="store_true", help="print the verdict as JSON")


def run(args: argparse.Namespace) -> int:
    config_path = args.audit_config or args.config
    if config_path is None:
        print("sitewatch hub audit: --config FILE is required", file=sys.stderr)
        return 2
    try:
        config = load_config(config_path)
        conn = connect(config.dsn(), "sitewatch-audit")
    except HubConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    except HubError as exc:
        print(f"sitewatch hub audit: {exc}", file=sys.stderr)
        return 1
    try:
        migrate(conn)
        if args.audit_action == "seal":
            print(f"sealed {audit_log.seal(conn)} row(s)")
            return 0
        verdict = audit_log.verify(conn)
        pending = audit_log.unsealed(conn)
    except HubError as exc:
        print(f"sitewatch hub audit: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()
    if args.json:
        broken = verdict.broken
        print(
            json.dumps(
                {
                    "intact": verdict.intact,
                    "checked": verdict.checked,
                    "head_seq": verdict.head_seq,
                    "head_hash": verdict.head_hash,
                    "unsealed": pending,
                    "broken": None if broken is None else {"seq": broken.seq, "id": broken.id, "reason": broken.reason},
                }
            )
        )
    elif verdict.broken is not None:
        print(verdict.broken.describe())
        print(f"{verdict.checked} row(s) before it verified; head before the break: seq {verdict.head_seq}")
    else:
        print(f"audit chain intact: {verdict.checked} row(s), head seq {verdict.head_seq} hash {verdict.head_hash}")
        if pending:
            print(f"{pending} row(s) written since the last seal are not in the chain yet")
    return 0 if verdict.intact else 1
