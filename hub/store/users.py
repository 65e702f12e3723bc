"""Dashboard users: who may sign in, with which role, for which city.  Disabling or resetting a password
revokes the user's sessions in the same transaction, so nothing signed in before outlives the change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.store.connection import Connection, mapped_errors

_COLUMNS = "id, username, display_name, role, city, password_hash, disabled, created_at, password_changed_at"


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: str
    city: str | None
    password_hash: str
    disabled: bool
    created_at: datetime
    password_changed_at: datetime


def _user(row: tuple[object, ...]) -> UserRow:
    return UserRow(*row)  # type: ignore[arg-type]


def create_user(
    conn: Connection,
    *,
    username: str,
    display_name: str,
    role: str,
    city: str | None,
    password_hash: str,
    now: datetime,
) -> UserRow | None:
    """The new user, or None when the name is taken (names compare case-insensitively)."""
    with mapped_errors("creating a user failed"):
        row = conn.execute(
            f"INSERT INTO users (username, display_name, role, city, password_hash, created_at, password_changed_at)"  # noqa: S608  # constant column list, values bound
            f" VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT ((lower(username))) DO NOTHING RETURNING {_COLUMNS}",
            (username, display_name, role, city, password_hash, now, now),
        ).fetchone()
    return None if row is None else _user(row)


def user_by_name(conn: Connection, username: str) -> UserRow | None:
    with mapped_errors("reading a user failed"):
        row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE lower(username) = lower(%s)", (username,)).fetchone()  # noqa: S608  # constant column list, values bound
    return None if row is None else _user(row)


def user_by_id(conn: Connection, user_id: int) -> UserRow | None:
    with mapped_errors("reading a user failed"):
        row = conn.execute(f"SELECT {_COLUMNS} FROM users WHERE id = %s", (user_id,)).fetchone()  # noqa: S608  # constant column list, values bound
    return None if row is None else _user(row)


def list_users(conn: Connection) -> list[UserRow]:
    with mapped_errors("reading users failed"):
        rows = conn.execute(f"SELECT {_COLUMNS} FROM users ORDER BY lower(username)").fetchall()  # noqa: S608  # constant column list, values bound
    return [_user(r) for r in rows]


def set_disabled(conn: Connection, user_id: int, disabled: bool, now: datetime) -> UserRow | None:
    """Disable (revoking every session at once) or re-enable a user; None when there is no such user."""
    with mapped_errors("changing a user failed"), conn.transaction():
        row = conn.execute(
            f"UPDATE users SET disabled = %s WHERE id = %s RETURNING {_COLUMNS}",  # noqa: S608  # constant columns
            (disabled, user_id),
        ).fetchone()
        if row is not None and disabled:
            _revoke_all(conn, user_id, now)
    return None if row is None else _user(row)


def set_password(conn: Connection, user_id: int, password_hash: str, now: datetime) -> UserRow | None:
    """A new password hash; every session signed in with the old password ends."""
    with mapped_errors("changing a password failed"), conn.transaction():
        row = conn.execute(
            f"UPDATE users SET password_hash = %s, password_changed_at = %s WHERE id = %s RETURNING {_COLUMNS}",  # noqa: S608  # constant column list, values bound
            (password_hash, now, user_id),
        ).fetchone()
        if row is not None:
            _revoke_all(conn, user_id, now)
    return None if row is None else _user(row)


def _revoke_all(conn: Connection, user_id: int, now: datetime) -> None:
    conn.execute("UPDATE web_sessions SET revoked_at = %s WHERE user_id = %s AND revoked_at IS NULL", (now, user_id))


def upgrade_hash(conn: Connection, user_id: int, old_hash: str, new_hash: str) -> None:
    """The same password hashed with today's parameters; sessions stay (nothing about the password changed)."""
    with mapped_errors("upgrading a password hash failed"):
        conn.execute(
            "UPDATE users SET password_hash = %s WHERE id = %s AND password_hash = %s", (new_hash, user_id, old_hash)
        )
