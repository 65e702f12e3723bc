"""What the hub's ``import`` commands (``sitewatch hub calendar|roster import``) share: the hub config,
a migrated connection to its database, and the exit statuses (2 the input is invalid, 1 the database
refused or is unreachable)."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hub.store.connection import Connection


class CliExit(Exception):  # not an error: how a command ends early, with its reason printed
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


def require_config(config_path: str | None, command: str) -> str:
    if config_path is None:
        print(f"{command}: --config FILE is required", file=sys.stderr)
        raise CliExit(2)
    return config_path


@contextmanager
def hub_database(config_path: str, command: str, application: str) -> Iterator[Connection]:
    """A connection to the configured hub's database, migrated (the hub may never have run against it).

    Raises :class:`CliExit` (2 a bad config, 1 a database error, also one raised in the block) once
    the reason is printed.
    """
    from hub.config import load_config  # noqa: PLC0415  # the hub's side only
    from hub.errors import HubConfigError, HubError  # noqa: PLC0415
    from hub.store import connect, migrate  # noqa: PLC0415

    try:
        dsn = load_config(config_path).dsn()
    except HubConfigError as exc:
        print(exc, file=sys.stderr)
        raise CliExit(2) from exc
    try:
        conn = connect(dsn, application)
    except HubError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        raise CliExit(1) from exc
    try:
        migrate(conn)
        yield conn
    except HubError as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        raise CliExit(1) from exc
    finally:
        conn.close()


def who() -> str:
    """Who runs the import, for its record."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"
