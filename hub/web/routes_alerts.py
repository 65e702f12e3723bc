"""Alerts: the filtered list, one alert, and the two actions — acknowledge (with a comment) and silence."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request

from hub.store.dashboard import AlertFilter
from hub.web.context import ApiError, Ctx, Signed, require
from hub.web.routes_auth import REFUSALS, Responses
from hub.web.schemas import Acknowledge, AlertListOut, AlertsOut, AlertV1Out, Problem, Silence
from hub.web.tree import alert_out
from hub.web.views import alert_v1

router = APIRouter(tags=["alerts"])
legacy = APIRouter(tags=["alerts"])

Reader = Annotated[Signed, Depends(require("read_sites"))]
Actor = Annotated[Signed, Depends(require("act_on_alerts"))]
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND: Responses = {**REFUSALS, 404: {"model": Problem, "description": "no such alert here (or not in your city)"}}
CONFLICT: Responses = {**NOT_FOUND, 409: {"model": Problem, "description": "already acknowledged"}}
SlugQuery = Annotated[str | None, Query(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


@router.get("/alerts", response_model=AlertListOut, responses=REFUSALS, summary="Alerts, newest first, filtered")
def alerts(
    *,
    ctx: Ctx,
    signed: Reader,
    state: Literal["open", "closed", "all"] = "open",
    severity: Literal["info", "warning", "critical"] | None = None,
    acknowledged: bool | None = None,
    city: SlugQuery = None,
    site: SlugQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> AlertListOut:
    scope = signed.principal.scope
    if scope is not None and city is not None and city != scope:
        return AlertListOut(state=state, alerts=[])
    f = AlertFilter(
        city=scope or city, site=site, state=state, severity=severity, acknowledged=acknowledged, limit=limit
    )
    return AlertListOut(state=state, alerts=[alert_v1(a) for a in ctx.store.list_alerts(f)])


def _visible(ctx: Ctx, request: Request, signed: Signed, alert_id: int) -> AlertV1Out:
    scope = signed.principal.scope
    found = ctx.store.alert(alert_id, scope)
    if found is None:
        if scope is not None and ctx.store.alert(alert_id, None) is not None:
            ctx.out_of_scope(request, signed.principal, f"alert {alert_id}")
        raise ApiError(404, "not_found")
    return alert_v1(found)


@router.get("/alerts/{alert_id}", response_model=AlertV1Out, responses=NOT_FOUND, summary="One alert")
def alert(alert_id: AlertId, request: Request, ctx: Ctx, signed: Reader) -> AlertV1Out:
    return _visible(ctx, request, signed, alert_id)


@router.post(
    "/alerts/{alert_id}/acknowledge",
    response_model=AlertV1Out,
    responses=CONFLICT,
    summary="Acknowledge an alert with a comment (once; names the person)",
)
def acknowledge(alert_id: AlertId, body: Acknowledge, request: Request, ctx: Ctx, signed: Actor) -> AlertV1Out:
    _visible(ctx, request, signed, alert_id)
    p = signed.principal
    comment = body.comment.strip()
    if not comment:
        raise ApiError(422, "alert.comment_required", field="comment")
    done = ctx.store.acknowledge_alert(
        alert_id, p.scope, by=p.username, by_id=p.user_id, comment=comment, now=ctx.clock()
    )
    if done is None:
        raise ApiError(409, "alert.already_acknowledged")
    ctx.audit(request, "alert.acknowledge", "ok", p, target=f"alert {alert_id}", comment=comment)
    return alert_v1(done)


@router.post(
    "/alerts/{alert_id}/silence",
    response_model=AlertV1Out,
    responses=NOT_FOUND,
    summary="Silence an alert's notifications for a while",
)
def silence(alert_id: AlertId, body: Silence, request: Request, ctx: Ctx, signed: Actor) -> AlertV1Out:
    _visible(ctx, request, signed, alert_id)
    p = signed.principal
    until = ctx.clock() + timedelta(minutes=body.minutes)
    done = ctx.store.silence_alert(alert_id, p.scope, by=p.username, until=until, comment=body.comment.strip())
    if done is None:
        raise ApiError(404, "not_found")
    ctx.audit(request, "alert.silence", "ok", p, target=f"alert {alert_id}", minutes=body.minutes)
    return alert_v1(done)


@legacy.get("/alerts", response_model=AlertsOut, responses=REFUSALS, summary="Open or all alerts (unversioned)")
def legacy_alerts(ctx: Ctx, signed: Reader, state: Literal["open", "all"] = "open") -> AlertsOut:
    rows = ctx.store.alerts(state)
    scope = signed.principal.scope
    return AlertsOut(state=state, alerts=[alert_out(a) for a in rows if scope is None or a.city == scope])
