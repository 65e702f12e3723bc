"""Administration: users (administrators only) and the audit log (administrators, the provincial center)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from hub.auth.passwords import password_problem
from hub.auth.roles import check_user_fields
from hub.web.context import ApiError, Ctx, Signed, require
from hub.web.routes_auth import REFUSALS, Responses
from hub.web.schemas import AuditListOut, AuditOut, NewPassword, NewUser, Problem, UserOut, UsersOut
from hub.web.views import user_out

router = APIRouter(tags=["administration"])

Admin = Annotated[Signed, Depends(require("manage_users"))]
Auditor = Annotated[Signed, Depends(require("read_audit"))]
UserId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND: Responses = {**REFUSALS, 404: {"model": Problem, "description": "no such user"}}
CHANGE: Responses = {**NOT_FOUND, 409: {"model": Problem, "description": "not on your own account"}}
INVALID: Responses = {**REFUSALS, 409: {"model": Problem, "description": "name taken"}, 422: {"model": Problem}}


@router.get("/users", response_model=UsersOut, responses=REFUSALS, summary="Every user")
def users(ctx: Ctx, _signed: Admin) -> UsersOut:
    return UsersOut(users=[user_out(u) for u in ctx.store.list_users()])


@router.post("/users", response_model=UserOut, status_code=201, responses=INVALID, summary="Add a user")
def add_user(body: NewUser, request: Request, ctx: Ctx, signed: Admin) -> UserOut:
    city = body.city or None
    problem = check_user_fields(body.username, body.role, city) or password_problem(body.password)
    if problem is not None:
        field = problem.split(":", 1)[0]
        raise ApiError(422, f"user.invalid_{field}", field=field)
    user = ctx.store.create_user(
        username=body.username,
        display_name=body.display_name.strip(),
        role=body.role,
        city=city,
        password_hash=ctx.passwords.hash(body.password),
        now=ctx.clock(),
    )
    if user is None:
        raise ApiError(409, "user.exists", field="username")
    ctx.audit(request, "user.add", "ok", signed.principal, target=f"user {user.username}", role=user.role)
    return user_out(user)


def _not_self(signed: Signed, user_id: int) -> None:
    # An administrator locking themselves out (or resetting their own password here) is always a slip.
    if signed.principal.user_id == user_id:
        raise ApiError(409, "user.not_yourself")


@router.post("/users/{user_id}/disable", response_model=UserOut, responses=CHANGE, summary="Disable a user now")
def disable(user_id: UserId, request: Request, ctx: Ctx, signed: Admin) -> UserOut:
    _not_self(signed, user_id)
    user = ctx.store.set_user_disabled(user_id, True, ctx.clock())
    if user is None:
        raise ApiError(404, "not_found")
    ctx.audit(request, "user.disable", "ok", signed.principal, target=f"user {user.username}")
    return user_out(user)


@router.post("/users/{user_id}/enable", response_model=UserOut, responses=CHANGE, summary="Enable a user again")
def enable(user_id: UserId, request: Request, ctx: Ctx, signed: Admin) -> UserOut:
    _not_self(signed, user_id)
    user = ctx.store.set_user_disabled(user_id, False, ctx.clock())
    if user is None:
        raise ApiError(404, "not_found")
    ctx.audit(request, "user.enable", "ok", signed.principal, target=f"user {user.username}")
    return user_out(user)


@router.post(
    "/users/{user_id}/password",
    response_model=UserOut,
    responses={**CHANGE, 422: {"model": Problem}},
    summary="Set a new password (ends the user's sessions)",
)
def reset_password(user_id: UserId, body: NewPassword, request: Request, ctx: Ctx, signed: Admin) -> UserOut:
    _not_self(signed, user_id)
    problem = password_problem(body.password)
    if problem is not None:
        raise ApiError(422, "user.invalid_password", field="password")
    user = ctx.store.set_user_password(user_id, ctx.passwords.hash(body.password), ctx.clock())
    if user is None:
        raise ApiError(404, "not_found")
    ctx.audit(request, "user.reset_password", "ok", signed.principal, target=f"user {user.username}")
    return user_out(user)


@router.get("/audit", response_model=AuditListOut, responses=REFUSALS, summary="The audit log, newest first")
def audit(
    ctx: Ctx,
    _signed: Auditor,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> AuditListOut:
    rows = ctx.store.audit_entries(limit, before_id)
    return AuditListOut(
        entries=[
            AuditOut(
                id=r.id,
                at=r.at,
                user_id=r.user_id,
                username=r.username,
                action=r.action,
                outcome=r.outcome,
                target=r.target,
                client=r.client,
                details=r.details,
            )
            for r in rows
        ]
    )
