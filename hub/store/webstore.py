"""The dashboard's store: the web's pool (:class:`ReadStore`) plus users, sessions, the audit log and the
scoped reads and alert actions of :mod:`hub.store.dashboard`.  Plain records in and out."""

from __future__ import annotations

from datetime import datetime

from hub.store import audit_log, dashboard, sessions, snapshots, users
from hub.store.audit_log import AuditEntry, AuditRow
from hub.store.dashboard import AlertFilter, AlertView, SiteDetail, SiteSummaryRow
from hub.store.handle import ReadStore
from hub.store.sessions import SessionRow
from hub.store.snapshots import SnapshotRow
from hub.store.users import UserRow


class WebStore(ReadStore):
    # --- pages ----------------------------------------------------------------------------------------

    def overview(self, city: str | None) -> list[SiteSummaryRow]:
        with self._connection() as conn:
            return dashboard.overview(conn, city)

    def site_detail(self, city: str, site: str, since: datetime) -> SiteDetail | None:
        with self._connection() as conn:
            return dashboard.site_detail(conn, city, site, since=since)

    def snapshot(self, city: str, site: str, device_id: str, sha256: str | None) -> SnapshotRow | None:
        with self._connection() as conn:
            return snapshots.site_snapshot(conn, city, site, device_id, sha256)

    def list_alerts(self, f: AlertFilter) -> list[AlertView]:
        with self._connection() as conn:
            return dashboard.list_alerts(conn, f)

    def alert(self, alert_id: int, city: str | None) -> AlertView | None:
        with self._connection() as conn:
            return dashboard.alert_by_id(conn, alert_id, city)

    def acknowledge_alert(
        self, alert_id: int, city: str | None, *, by: str, by_id: int, comment: str, now: datetime
    ) -> AlertView | None:
        with self._connection() as conn:
            return dashboard.acknowledge_alert(conn, alert_id, city, by=by, by_id=by_id, comment=comment, now=now)

    def silence_alert(
        self, alert_id: int, city: str | None, *, by: str, until: datetime, comment: str
    ) -> AlertView | None:
        with self._connection() as conn:
            return dashboard.silence_alert(conn, alert_id, city, by=by, until=until, comment=comment)

    # --- users ----------------------------------------------------------------------------------------

    def create_user(
        self, *, username: str, display_name: str, role: str, city: str | None, password_hash: str, now: datetime
    ) -> UserRow | None:
        with self._connection() as conn:
            return users.create_user(
                conn,
                username=username,
                display_name=display_name,
                role=role,
                city=city,
                password_hash=password_hash,
                now=now,
            )

    def user_by_name(self, username: str) -> UserRow | None:
        with self._connection() as conn:
            return users.user_by_name(conn, username)

    def user_by_id(self, user_id: int) -> UserRow | None:
        with self._connection() as conn:
            return users.user_by_id(conn, user_id)

    def list_users(self) -> list[UserRow]:
        with self._connection() as conn:
            return users.list_users(conn)

    def set_user_disabled(self, user_id: int, disabled: bool, now: datetime) -> UserRow | None:
        with self._connection() as conn:
            return users.set_disabled(conn, user_id, disabled, now)

    def set_user_password(self, user_id: int, password_hash: str, now: datetime) -> UserRow | None:
        with self._connection() as conn:
            return users.set_password(conn, user_id, password_hash, now)

    def upgrade_hash(self, user_id: int, old_hash: str, new_hash: str) -> None:
        with self._connection() as conn:
            users.upgrade_hash(conn, user_id, old_hash, new_hash)

    # --- sessions -------------------------------------------------------------------------------------

    def create_session(
        self,
        *,
        token_hash: str,
        user_id: int,
        csrf_token: str,
        now: datetime,
        expires_at: datetime,
        client: str,
        replaces: str | None,
    ) -> None:
        with self._connection() as conn:
            sessions.create_session(
                conn,
                token_hash=token_hash,
                user_id=user_id,
                csrf_token=csrf_token,
                now=now,
                expires_at=expires_at,
                client=client,
                replaces=replaces,
            )

    def session(self, token_hash: str) -> SessionRow | None:
        with self._connection() as conn:
            return sessions.session_by_token_hash(conn, token_hash)

    def touch_session(self, token_hash: str, now: datetime) -> None:
        with self._connection() as conn:
            sessions.touch_session(conn, token_hash, now)

    def revoke_session(self, token_hash: str, now: datetime) -> bool:
        with self._connection() as conn:
            return sessions.revoke_session(conn, token_hash, now)

    def purge_sessions(self, ended_before: datetime) -> int:
        with self._connection() as conn:
            return sessions.purge_sessions(conn, ended_before)

    # --- audit ----------------------------------------------------------------------------------------

    def audit(self, entry: AuditEntry) -> None:
        with self._connection() as conn:
            audit_log.record(conn, entry)

    def audit_entries(self, limit: int, before_id: int | None) -> list[AuditRow]:
        with self._connection() as conn:
            return audit_log.list_entries(conn, limit, before_id)
