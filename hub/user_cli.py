"""``sitewatch hub user add|disable|enable|reset-password``: dashboard users, straight in the database.

Passwords are read from standard input (``--password-stdin``, first line) or asked for twice on the
terminal; they never appear on the command line, where ``ps`` and shell history would keep them.
Exit status: 0 done, 1 the database refused or is unreachable, 2 bad arguments or no such user.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import UTC, datetime

from hub.auth.passwords import Passwords, password_problem
from hub.auth.roles import ROLES, check_user_fields
from hub.config import load_config
from hub.errors import HubConfigError, HubError
from hub.store import connect, migrate
from hub.store import users as user_store
from hub.store.connection import Connection


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="user_action", metavar="ACTION", required=True)

    def action(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        # Its own dest: argparse lets a subcommand's defaults overwrite the parent's values.
        p.add_argument("--config", dest="user_config", metavar="FILE", help="hub config (TOML)")
        p.add_argument("username", metavar="USERNAME")
        return p

    add = action("add", "add a user")
    add.add_argument("--role", required=True, choices=ROLES, help="city duty officer, provincial officer, admin")
    add.add_argument("--city", help="the city slug (as in agent ids); required for --role city")
    add.add_argument("--display-name", default="", help="shown on the dashboard and in the audit log")
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    action("disable", "disable a user; their sessions end at once")
    action("enable", "enable a disabled user again")
    reset = action("reset-password", "set a new password; the user's sessions end at once")
    reset.add_argument("--password-stdin", action="store_true", help="read the password from standard input")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise ValueError("the two passwords differ")
    return first


def run(args: argparse.Namespace) -> int:
    config_path = args.user_config or args.config
    if config_path is None:
        print("sitewatch hub user: --config FILE is required", file=sys.stderr)
        return 2
    try:
        config = load_config(config_path)
        dsn = config.dsn()
    except HubConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    try:
        conn = connect(dsn, "sitewatch-user-cli")
    except HubError as exc:
        print(f"sitewatch hub user: {exc}", file=sys.stderr)
        return 1
    try:
        migrate(conn)  # the hub may never have run against this database yet
        return _act(conn, args)
    except HubError as exc:
        print(f"sitewatch hub user: {exc}", file=sys.stderr)
        return 1
    finally:
        conn.close()


def _act(conn: Connection, args: argparse.Namespace) -> int:
    now = datetime.now(UTC)
    name = args.username
    if args.user_action == "add":
        problem = check_user_fields(name, args.role, args.city)
        if problem is not None:
            print(f"sitewatch hub user add: {problem}", file=sys.stderr)
            return 2
        hashed = _checked_hash(args.password_stdin)
        if hashed is None:
            return 2
        created = user_store.create_user(
            conn, username=name, display_name=args.display_name, role=args.role, city=args.city,
            password_hash=hashed, now=now,
        )  # fmt: skip
        if created is None:
            print(f"sitewatch hub user add: the user name {name!r} is taken", file=sys.stderr)
            return 2
        where = f", {created.city}" if created.city else ""
        print(f"added user {created.username} (id {created.id}, {created.role}{where})")
        return 0
    user = user_store.user_by_name(conn, name)
    if user is None:
        print(f"sitewatch hub user {args.user_action}: no user {name!r}", file=sys.stderr)
        return 2
    if args.user_action in ("disable", "enable"):
        user_store.set_disabled(conn, user.id, args.user_action == "disable", now)
        print(f"{args.user_action}d user {user.username}")
        return 0
    hashed = _checked_hash(args.password_stdin)
    if hashed is None:
        return 2
    user_store.set_password(conn, user.id, hashed, now)
    print(f"new password set for {user.username}; their sessions have ended")
    return 0


def _checked_hash(from_stdin: bool) -> str | None:
    try:
        password = _password(from_stdin)
    except (ValueError, EOFError) as exc:
        print(f"sitewatch hub user: {exc or 'no password given'}", file=sys.stderr)
        return None
    problem = password_problem(password)
    if problem is not None:
        print(f"sitewatch hub user: {problem}", file=sys.stderr)
        return None
    return Passwords().hash(password)
