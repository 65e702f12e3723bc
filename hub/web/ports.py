"""What the web needs from the store; :class:`hub.store.webstore.WebStore` implements it."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Protocol

from hub.store.audit_log import AuditEntry, AuditRow
from hub.store.dashboard import AlertFilter, AlertView, SiteDetail, SiteSummaryRow
from hub.store.records import AlertRow, SitesSnapshot, StorageInfo
from hub.store.sessions import SessionRow
from hub.store.snapshots import SnapshotRow
from hub.store.users import UserRow


class DashboardStore(Protocol):
    storage: StorageInfo

    def ping(self) -> None: ...

    def sites(self) -> SitesSnapshot: ...

    def alerts(self, state: Literal["open", "all"]) -> list[AlertRow]: ...

    def overview(self, city: str | None) -> list[SiteSummaryRow]: ...

    def site_detail(self, city: str, site: str, since: datetime) -> SiteDetail | None: ...

    def snapshot(self, city: str, site: str, device_id: str, sha256: str | None) -> SnapshotRow | None: ...

    def list_alerts(self, f: AlertFilter) -> list[AlertView]: ...

    def alert(self, alert_id: int, city: str | None) -> AlertView | None: ...

    def acknowledge_alert(
        self, alert_id: int, city: str | None, *, by: str, by_id: int, comment: str, now: datetime
    ) -> AlertView | None: ...

    def silence_alert(
        self, alert_id: int, city: str | None, *, by: str, until: datetime, comment: str
    ) -> AlertView | None: ...

    def create_user(
        self, *, username: str, display_name: str, role: str, city: str | None, password_hash: str, now: datetime
    ) -> UserRow | None: ...

    def user_by_name(self, username: str) -> UserRow | None: ...

    def user_by_id(self, user_id: int) -> UserRow | None: ...

    def list_users(self) -> list[UserRow]: ...

    def set_user_disabled(self, user_id: int, disabled: bool, now: datetime) -> UserRow | None: ...

    def set_user_password(self, user_id: int, password_hash: str, now: datetime) -> UserRow | None: ...

    def upgrade_hash(self, user_id: int, old_hash: str, new_hash: str) -> None: ...

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
    ) -> None: ...

    def session(self, token_hash: str) -> SessionRow | None: ...

    def touch_session(self, token_hash: str, now: datetime) -> None: ...

    def revoke_session(self, token_hash: str, now: datetime) -> bool: ...

    def audit(self, entry: AuditEntry) -> None: ...

    def audit_entries(self, limit: int, before_id: int | None) -> list[AuditRow]: ...
