"""Server-side dashboard sessions.  The cookie holds a random token; this table holds only its sha256,
the CSRF token bound to it, and the timestamps the idle and absolute timeouts are judged by."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.store.connection import Connection, mapped_errors
from hub.store.users import UserRow


@dataclass(frozen=True, slots=True)
class SessionRow:
    token_hash: str
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user: UserRow


def create_session(
    conn: Connection,
    *,
    token_hash: str,
    user_id: int,
    csrf_token: str,
    now: datetime,
    expires_at: datetime,
    client: str,
    replaces: str | None = None,
) -> None:
    """Store a new session; ``replaces`` (the token hash the browser came with) is revoked with it, so
    signing in always rotates the session instead of upgrading one an attacker may have planted."""
    with mapped_errors("creating a session failed"), conn.transaction():
        if replaces is not None:
            conn.execute(
                "UPDATE web_sessions SET revoked_at = %s WHERE token_hash = %s AND revoked_at IS NULL",
                (now, replaces),
            )
        conn.execute(
            "INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, last_seen_at, expires_at, client)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (token_hash, user_id, csrf_token, now, now, expires_at, client),
        )


def session_by_token_hash(conn: Connection, token_hash: str) -> SessionRow | None:
    """The session and its user as they are now (the caller judges revoked, disabled and expired)."""
    with mapped_errors("reading a session failed"):
        row = conn.execute(
            "SELECT s.token_hash, s.csrf_token, s.created_at, s.last_seen_at, s.expires_at, s.revoked_at,"
            " u.id, u.username, u.display_name, u.role, u.city, u.password_hash, u.disabled, u.created_at,"
            " u.password_changed_at"
            " FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.token_hash = %s",
            (token_hash,),
        ).fetchone()
    if row is None:
        return None
    token, csrf, created, seen, expires, revoked = row[:6]
    return SessionRow(token, csrf, created, seen, expires, revoked, user=UserRow(*row[6:]))


def touch_session(conn: Connection, token_hash: str, now: datetime) -> None:
    with mapped_errors("touching a session failed"):
        conn.execute(
            "UPDATE web_sessions SET last_seen_at = %s WHERE token_hash = %s AND last_seen_at < %s",
            (now, token_hash, now),
        )


def revoke_session(conn: Connection, token_hash: str, now: datetime) -> bool:
    with mapped_errors("revoking a session failed"):
        row = conn.execute(
            "UPDATE web_sessions SET revoked_at = %s WHERE token_hash = %s AND revoked_at IS NULL RETURNING 1",
            (now, token_hash),
        ).fetchone()
    return row is not None


def purge_sessions(conn: Connection, ended_before: datetime) -> int:
    """Forget sessions that expired or were revoked before ``ended_before``; returns how many."""
    with mapped_errors("purging sessions failed"):
        cur = conn.execute(
            "DELETE FROM web_sessions WHERE expires_at < %s OR revoked_at < %s", (ended_before, ended_before)
        )
    return cur.rowcount
