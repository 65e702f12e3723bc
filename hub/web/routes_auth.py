"""Signing in and out, who am I, and the language catalogues (public: the sign-in page needs them)."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from hub.auth.roles import PERMISSIONS, Principal, as_role
from hub.auth.tokens import new_token, token_hash
from hub.i18n import Language
from hub.web.context import SESSION_COOKIE, ApiError, Ctx, SignedIn, WebContext, client_of
from hub.web.schemas import MeOut, Problem, SignIn

router = APIRouter(tags=["session"])

Responses = dict[int | str, dict[str, Any]]

REFUSALS: Responses = {
    401: {"model": Problem, "description": "not signed in"},
    403: {"model": Problem, "description": "refused (role, or missing CSRF token)"},
}


def _cookie_secure(ctx: WebContext, request: Request) -> bool:
    mode = ctx.settings.secure_cookies
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def _me(ctx: WebContext, p: Principal, csrf: str, expires_at: datetime) -> MeOut:
    return MeOut(
        user_id=p.user_id,
        username=p.username,
        display_name=p.display_name,
        role=p.role,
        city=p.city,
        csrf_token=csrf,
        permissions=sorted(PERMISSIONS[p.role]),
        session_expires_at=expires_at,
        idle_timeout_s=ctx.settings.session_idle_s,
        live_ping_s=ctx.settings.live_ping_s,
    )


@router.post(
    "/session",
    response_model=MeOut,
    responses={401: {"model": Problem}, 403: {"model": Problem}, 429: {"model": Problem}},
    summary="Sign in (rotates the session; JSON only)",
)
def sign_in(body: SignIn, request: Request, response: Response, ctx: Ctx) -> MeOut:
    client = client_of(request)
    wait = ctx.limiter.retry_after(body.username, client, time.monotonic())
    if wait > 0:
        ctx.audit(request, "sign_in", "limited", username=body.username[:64])
        raise ApiError(429, "sign_in.limited", retry_after_s=round(wait, 1))
    user = ctx.store.user_by_name(body.username)
    verdict = ctx.passwords.verify(None if user is None else user.password_hash, body.password)
    if user is None or not verdict.ok or user.disabled:
        ctx.limiter.failed(body.username, client, time.monotonic())
        reason = "disabled" if user is not None and verdict.ok else "credentials"
        ctx.audit(request, "sign_in", "failed", username=body.username[:64], reason=reason)
        # The same answer for an unknown name, a wrong password and a disabled account.
        raise ApiError(401, "sign_in.invalid")
    ctx.limiter.succeeded(body.username)
    now = ctx.clock()
    if verdict.needs_rehash:
        ctx.store.upgrade_hash(user.id, user.password_hash, ctx.passwords.hash(body.password))
    token, csrf = new_token(), new_token()
    old = request.cookies.get(SESSION_COOKIE)
    expires_at = ctx.policy.expires_at(now)
    ctx.store.create_session(
        token_hash=token_hash(token),
        user_id=user.id,
        csrf_token=csrf,
        now=now,
        expires_at=expires_at,
        client=client,
        replaces=None if old is None else token_hash(old),
    )
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=ctx.settings.session_absolute_s,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_cookie_secure(ctx, request),
    )
    ctx.audit(request, "sign_in", "ok", username=user.username)
    role = as_role(user.role)
    assert role is not None  # the table's CHECK allows only the three roles
    return _me(ctx, Principal(user.id, user.username, user.display_name, role, user.city), csrf, expires_at)


@router.post("/session/sign-out", status_code=204, responses=REFUSALS, summary="Sign out (revokes the session)")
def sign_out(request: Request, response: Response, ctx: Ctx, signed: SignedIn) -> Response:
    ctx.store.revoke_session(signed.session.token_hash, ctx.clock())
    ctx.audit(request, "sign_out", "ok", signed.principal)
    out = Response(status_code=204)
    out.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict", secure=_cookie_secure(ctx, request))
    return out


@router.get("/me", response_model=MeOut, responses=REFUSALS, summary="Who is signed in, and the CSRF token")
def me(ctx: Ctx, signed: SignedIn) -> MeOut:
    return _me(ctx, signed.principal, signed.session.csrf_token, signed.session.expires_at)


@router.get("/i18n/{lang}", response_model=dict[str, str], summary="A language catalogue (public)")
def catalogue(lang: Language, ctx: Ctx) -> dict[str, str]:
    return dict(ctx.catalogues.get(lang))
