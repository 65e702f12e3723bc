"""The desk's API for notifications: label-scoped silences, and where an alert's notifications went
(with each delivery's receipt).  A city duty officer's silences are confined to their city."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from hub.alerts.mute import check_matchers
from hub.store.desk import DeskStore, SilenceRow
from hub.web.context import ApiError, Ctx, Signed, require
from hub.web.routes_auth import REFUSALS, Responses
from hub.web.schemas import Problem, Text

router = APIRouter(tags=["notifications"])

Reader = Annotated[Signed, Depends(require("read_sites"))]
Actor = Annotated[Signed, Depends(require("act_on_alerts"))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
NOT_FOUND: Responses = {**REFUSALS, 404: {"model": Problem, "description": "not found (or not in your city)"}}


def desk_store(request: Request) -> DeskStore:
    store: DeskStore = request.app.state.desk
    return store


Desk = Annotated[DeskStore, Depends(desk_store)]


class SilenceIn(BaseModel):
    # label → value, all must match: fingerprint, kind, severity, city, site, agent_id, device_id
    matchers: dict[Annotated[str, Field(max_length=32)], Annotated[Text, Field(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=7
    )
    minutes: int = Field(ge=1, le=7 * 24 * 60)
    reason: Text = Field(min_length=1, max_length=1000)


class SilenceOut(BaseModel):
    id: int
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    created_at: datetime
    expired_by: str | None
    active: bool


class SilencesOut(BaseModel):
    silences: list[SilenceOut]


class DeliveryOut(BaseModel):
    target: str
    event: str
    created_at: datetime
    attempts: int
    delivered_at: datetime | None
    failed_at: datetime | None
    last_error: str | None
    receipt: dict[str, Any] | None


class DeliveriesOut(BaseModel):
    alert_id: int
    deliveries: list[DeliveryOut]


def _out(s: SilenceRow, now: datetime) -> SilenceOut:
    return SilenceOut(
        id=s.id,
        matchers=s.matchers,
        starts_at=s.starts_at,
        ends_at=s.ends_at,
        created_by=s.created_by,
        reason=s.reason,
        created_at=s.created_at,
        expired_by=s.expired_by,
        active=s.starts_at <= now < s.ends_at,
    )


@router.get("/silences", response_model=SilencesOut, responses=REFUSALS, summary="Silences (active ones by default)")
def silences(ctx: Ctx, signed: Reader, store: Desk, expired: bool = False) -> SilencesOut:
    now = ctx.clock()
    rows = store.silences(now, signed.principal.scope, include_expired=expired)
    return SilencesOut(silences=[_out(s, now) for s in rows])


@router.post(
    "/silences",
    response_model=SilenceOut,
    responses=NOT_FOUND,
    summary="Silence the desk's notifiers for alerts matching labels, for a while (author and reason recorded)",
)
def add_silence(body: SilenceIn, request: Request, ctx: Ctx, signed: Actor, store: Desk) -> SilenceOut:
    p = signed.principal
    matchers = dict(body.matchers)
    problem = check_matchers(matchers)
    if problem is not None:
        raise ApiError(422, "silence.matchers", field="matchers")
    if p.scope is not None:
        if matchers.get("city", p.scope) != p.scope:
            ctx.out_of_scope(request, p, f"silence for city {matchers['city']}")
        matchers["city"] = p.scope
    now = ctx.clock()
    row = store.add_silence(
        matchers=matchers,
        starts_at=now,
        ends_at=now + timedelta(minutes=body.minutes),
        by=p.username,
        by_id=p.user_id,
        reason=body.reason.strip() or body.reason,
        now=now,
    )
    ctx.audit(
        request,
        "silence.create",
        "ok",
        p,
        target=f"silence {row.id}",
        matchers=matchers,
        minutes=body.minutes,
        reason=row.reason,
    )
    return _out(row, now)


@router.post(
    "/silences/{silence_id}/expire", response_model=SilenceOut, responses=NOT_FOUND, summary="End a silence now"
)
def expire_silence(silence_id: Id, request: Request, ctx: Ctx, signed: Actor, store: Desk) -> SilenceOut:
    p = signed.principal
    now = ctx.clock()
    row = store.expire_silence(silence_id, p.scope, by=p.username, now=now)
    if row is None:
        raise ApiError(404, "not_found")
    ctx.audit(request, "silence.expire", "ok", p, target=f"silence {silence_id}")
    return _out(row, now)


@router.get(
    "/alerts/{alert_id}/deliveries",
    response_model=DeliveriesOut,
    responses=NOT_FOUND,
    summary="Where an alert's notifications went, with each delivery's receipt",
)
def deliveries(
    *,
    alert_id: Id,
    request: Request,
    ctx: Ctx,
    signed: Reader,
    store: Desk,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeliveriesOut:
    scope = signed.principal.scope
    if ctx.store.alert(alert_id, scope) is None:
        if scope is not None and ctx.store.alert(alert_id, None) is not None:
            ctx.out_of_scope(request, signed.principal, f"alert {alert_id}")
        raise ApiError(404, "not_found")
    rows = store.deliveries(alert_id)[:limit]
    return DeliveriesOut(
        alert_id=alert_id,
        deliveries=[
            DeliveryOut(
                target=d.target,
                event=d.event,
                created_at=d.created_at,
                attempts=d.attempts,
                delivered_at=d.delivered_at,
                failed_at=d.failed_at,
                last_error=d.last_error,
                receipt=d.receipt,
            )
            for d in rows
        ],
    )
