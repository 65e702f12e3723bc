"""The duty desk's check-in (rule O3): a city duty officer confirms the desk is staffed; everyone who
reads sites sees each desk's state.  A missed check-in raises a critical alert (the dispatcher does)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from hub.alerts import duty
from hub.notify.routes import Desk
from hub.notify.settings import DutySection
from hub.web.context import ApiError, Ctx, Signed, require
from hub.web.routes_auth import REFUSALS, Responses
from hub.web.schemas import Problem, Text

router = APIRouter(tags=["duty"])

Reader = Annotated[Signed, Depends(require("read_sites"))]
Actor = Annotated[Signed, Depends(require("act_on_alerts"))]
CONFLICT: Responses = {**REFUSALS, 409: {"model": Problem, "description": "only a city duty officer checks in"}}


class CheckInIn(BaseModel):
    comment: Text = Field(default="", max_length=500)


class DeskOut(BaseModel):
    city: str
    on_duty: bool  # an exam day, inside the day's hours: check-ins are due
    last_check_in: datetime | None
    due_at: datetime | None
    missed: bool


class DutyOut(BaseModel):
    every_s: float
    grace_s: float
    desks: list[DeskOut]


def _settings(request: Request) -> DutySection:
    section: DutySection = request.app.state.duty
    return section


Settings = Annotated[DutySection, Depends(_settings)]


def _policy(s: DutySection) -> duty.DutyPolicy:
    return duty.DutyPolicy(s.every_s, s.grace_s, frozenset(s.days), s.start, s.end)


def _desk(status: duty.DeskStatus) -> DeskOut:
    return DeskOut(
        city=status.city, on_duty=status.on_duty, last_check_in=status.last, due_at=status.due_at, missed=status.missed
    )


@router.get("/duty", response_model=DutyOut, responses=REFUSALS, summary="Each city desk's check-in state")
def desks(ctx: Ctx, signed: Reader, store: Desk, settings: Settings) -> DutyOut:
    scope = signed.principal.scope
    last = store.last_checkins()
    cities = set(settings.cities) | set(last)
    if scope is not None:
        cities = {scope}
    statuses = duty.desks(_policy(settings), cities, last, ctx.clock())
    return DutyOut(every_s=settings.every_s, grace_s=settings.grace_s, desks=[_desk(s) for s in statuses])


@router.post("/duty/check-in", response_model=DeskOut, responses=CONFLICT, summary="Confirm the desk is staffed")
def check_in(*, body: CheckInIn, request: Request, ctx: Ctx, signed: Actor, store: Desk, settings: Settings) -> DeskOut:
    p = signed.principal
    if p.scope is None:
        raise ApiError(409, "duty.city_only")
    now = ctx.clock()
    store.check_in(p.scope, by=p.username, by_id=p.user_id, now=now)
    ctx.audit(request, "duty.check_in", "ok", p, target=f"city {p.scope}", comment=body.comment)
    return _desk(duty.status(_policy(settings), p.scope, now, now))
