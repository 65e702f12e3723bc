"""Everything a request handler needs, held by the app (``app.state.ctx``), and the checks every route
shares: who is signed in, what their role allows, and the audit trail of refusals."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, NoReturn

from fastapi import Depends, Request

from hub.auth.csrf import CSRF_HEADER, SAFE_METHODS
from hub.auth.passwords import Passwords
from hub.auth.ratelimit import Limits, SignInLimiter
from hub.auth.roles import Permission, Principal, as_role
from hub.auth.sessions import SessionPolicy
from hub.auth.tokens import same_token, token_hash
from hub.config import WebSection
from hub.errors import StoreError
from hub.i18n import Catalogues, Language, negotiate
from hub.stats import Stats
from hub.store.audit_log import AuditEntry
from hub.store.sessions import SessionRow
from hub.web.live import LiveHub
from hub.web.ports import DashboardStore

log = logging.getLogger("sitewatch.hub.web")

SESSION_COOKIE = "sw_session"
LANG_COOKIE = "sw_lang"


class ApiError(Exception):
    """Becomes a :class:`hub.web.schemas.Problem` response; ``code`` is what the page translates."""

    def __init__(self, status: int, code: str, *, retry_after_s: float | None = None, field: str | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.retry_after_s = retry_after_s
        self.field = field


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Signed:
    principal: Principal
    session: SessionRow


@dataclass
class WebContext:
    store: DashboardStore
    stats: Stats
    settings: WebSection
    passwords: Passwords
    catalogues: Catalogues
    live: LiveHub
    # True once the server is shutting down: open live streams end.
    stopping: Callable[[], bool]
    clock: Callable[[], datetime] = _utcnow
    limiter: SignInLimiter = field(init=False)
    policy: SessionPolicy = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings
        self.policy = SessionPolicy(idle_s=s.session_idle_s, absolute_s=s.session_absolute_s)
        self.limiter = SignInLimiter(
            Limits(s.sign_in_failures_per_user, s.sign_in_failures_per_client, float(s.sign_in_window_s))
        )

    # --- who is asking ------------------------------------------------------------------------------

    def language(self, request: Request) -> Language:
        return negotiate(
            request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"), self.settings.default_language
        )

    def check_session(self, token: str | None, now: datetime) -> SessionRow | None:
        """The session behind a cookie token if it is still good (and its user still enabled)."""
        if not token:
            return None
        row = self.store.session(token_hash(token))
        if row is None:
            return None
        verdict = self.policy.judge(
            now=now,
            last_seen=row.last_seen_at,
            expires_at=row.expires_at,
            revoked=row.revoked_at is not None,
            disabled=row.user.disabled,
        )
        return row if verdict == "ok" else None

    def authenticate(self, request: Request) -> Signed:
        now = self.clock()
        row = self.check_session(request.cookies.get(SESSION_COOKIE), now)
        if row is None:
            raise ApiError(401, "auth.required")
        principal = principal_of(row)
        if request.method not in SAFE_METHODS and not same_token(request.headers.get(CSRF_HEADER), row.csrf_token):
            self.audit(request, "csrf", "refused", principal, target=request.url.path)
            raise ApiError(403, "csrf.refused")
        if self.policy.should_touch(now=now, last_seen=row.last_seen_at):
            self.store.touch_session(row.token_hash, now)
        return Signed(principal, row)

    # --- refusals and the audit trail -----------------------------------------------------------------

    def audit(
        self,
        request: Request,
        action: str,
        outcome: str,
        principal: Principal | None = None,
        *,
        username: str = "",
        target: str = "",
        **details: Any,
    ) -> None:
        """Write an audit row; a failure is logged, never raised (the answer to the person matters more)."""
        entry = AuditEntry(
            at=self.clock(),
            action=action,
            outcome=outcome,
            user_id=None if principal is None else principal.user_id,
            username=username if principal is None else principal.username,
            target=target,
            client=client_of(request),
            details=details,
        )
        try:
            self.store.audit(entry)
        except StoreError as exc:
            log.error(  # noqa: TRY400  # the store error says it all
                "could not write the audit log (%s %s): %s", action, outcome, exc
            )

    def out_of_scope(self, request: Request, principal: Principal, target: str) -> NoReturn:
        """Answer exactly as for something that does not exist, and record that it was asked for."""
        self.audit(request, "authorise", "refused", principal, target=target, reason="scope")
        raise ApiError(404, "not_found")


def principal_of(row: SessionRow) -> Principal:
    role = as_role(row.user.role)
    if role is None:  # the table's CHECK makes this unreachable; refuse rather than guess
        raise ApiError(401, "auth.required")
    return Principal(row.user.id, row.user.username, row.user.display_name, role, row.user.city)


def client_of(request: Request) -> str:
    return request.client.host if request.client is not None else ""


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


Ctx = Annotated[WebContext, Depends(context)]


def signed_in(request: Request) -> Signed:
    return context(request).authenticate(request)


SignedIn = Annotated[Signed, Depends(signed_in)]


def require(permission: Permission) -> Callable[[Request], Signed]:
    """A dependency: signed in, and the role grants ``permission`` (else 403, audited)."""

    def check(request: Request) -> Signed:
        ctx = context(request)
        signed = ctx.authenticate(request)
        if not signed.principal.may(permission):
            ctx.audit(request, "authorise", "refused", signed.principal, target=request.url.path, reason=permission)
            raise ApiError(403, "auth.forbidden")
        return signed

    return check
