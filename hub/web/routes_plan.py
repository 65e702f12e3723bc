"""The exam plan: the calendar in force with each city's custody and arrival reports, the go / no-go
board, an on-demand go / no-go run, and the arrival report (rule V3) — all scoped to the person's city."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import AwareDatetime, BaseModel, Field

from hub.calendar import Calendar, parse_calendar
from hub.rules.readiness import run_now
from hub.rules.settings import RulesSettings
from hub.store.calendar import ArrivalRow, GoNoGoRow, PlanStore
from hub.store.handle import ReadStore
from hub.web.context import ApiError, Ctx, Signed, require
from hub.web.routes_auth import REFUSALS, Responses
from hub.web.schemas import Problem, Text

router = APIRouter(tags=["exam plan"])

Reader = Annotated[Signed, Depends(require("read_sites"))]
Actor = Annotated[Signed, Depends(require("act_on_alerts"))]
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
NOT_FOUND: Responses = {**REFUSALS, 404: {"model": Problem, "description": "no such site here (or not in your city)"}}
# A report may be entered a little after the fact, never for the future (allowing for clock skew).
FUTURE_SKEW = timedelta(minutes=1)
ARRIVALS_SHOWN = timedelta(days=7)


class SessionOut(BaseModel):
    id: str
    exam: str
    paper: str
    start: datetime
    end: datetime
    checkin_start: datetime
    # "<city>/<site>/<room>" (room "*": every room of the site); only those in the person's city
    rooms: list[str]
    sites: list[str]


class ArrivalOut(BaseModel):
    id: int
    site_id: str
    arrived_at: datetime
    reported_at: datetime
    reported_by: str
    comment: str


class CustodyOut(BaseModel):
    city: str
    collection: datetime
    arrival_due: datetime
    returned: datetime
    sites: list[str]


class CalendarV1Out(BaseModel):
    version: int | None
    imported_at: datetime | None
    source: str | None
    sessions: list[SessionOut]
    custody: list[CustodyOut]
    arrivals: list[ArrivalOut]


class CheckOut(BaseModel):
    name: str
    ok: bool
    reasons: list[str]


class GoNoGoSiteOut(BaseModel):
    site_id: str
    city: str
    site: str
    # The session checked, or the next one at the site when nothing has been checked yet.
    session: str | None
    session_start: datetime | None
    # "go", "no_go", or "pending" (not checked yet)
    verdict: str
    reasons: list[str]
    checks: list[CheckOut]
    evaluated_at: datetime | None
    trigger: str | None
    requested_by: str | None


class GoNoGoBoardOut(BaseModel):
    sites: list[GoNoGoSiteOut]


class ArrivalIn(BaseModel):
    # When the papers went into the vault; now if not given.
    arrived_at: AwareDatetime | None = None
    comment: Text = Field(default="", max_length=500)


def _plan(ctx: Ctx) -> PlanStore | None:
    return PlanStore(ctx.store) if isinstance(ctx.store, ReadStore) else None


def _needed(ctx: Ctx) -> PlanStore:
    plan = _plan(ctx)
    if plan is None:
        raise ApiError(503, "database.unavailable")
    return plan


def _calendar(plan: PlanStore) -> Calendar:
    stored = plan.latest_calendar()
    return Calendar() if stored is None else parse_calendar(stored[1], f"calendar version {stored[0]}")


def _in(city: str | None, site: str) -> bool:
    return city is None or site.split("/", 1)[0] == city


def _arrival_out(a: ArrivalRow) -> ArrivalOut:
    return ArrivalOut(
        id=a.id,
        site_id=f"{a.city}/{a.site}",
        arrived_at=a.arrived_at,
        reported_at=a.reported_at,
        reported_by=a.reported_by,
        comment=a.comment,
    )


@router.get("/calendar", response_model=CalendarV1Out, responses=REFUSALS, summary="The exam calendar in force")
def calendar(ctx: Ctx, signed: Reader) -> CalendarV1Out:
    plan = _plan(ctx)
    info = None if plan is None else plan.calendar_info()
    if plan is None or info is None:
        return CalendarV1Out(version=None, imported_at=None, source=None, sessions=[], custody=[], arrivals=[])
    scope = signed.principal.scope
    cal = _calendar(plan)
    sessions = [
        SessionOut(
            id=s.id,
            exam=s.exam,
            paper=s.paper,
            start=s.start,
            end=s.end,
            checkin_start=s.checkin_start,
            rooms=[str(r) for r in s.rooms if _in(scope, r.site)],
            sites=sorted(site for site in s.sites if _in(scope, site)),
        )
        for s in cal.sessions
        if any(_in(scope, site) for site in s.sites)
    ]
    custody = [
        CustodyOut(
            city=c.city,
            collection=c.collection,
            arrival_due=c.arrival_due,
            returned=c.returned,
            sites=sorted(site for site in cal.sites() if site.split("/", 1)[0] == c.city),
        )
        for c in cal.custody
        if scope is None or c.city == scope
    ]
    since = min((c.collection for c in cal.custody), default=ctx.clock() - ARRIVALS_SHOWN)
    arrivals = [_arrival_out(a) for a in plan.arrival_reports(scope, since)]
    return CalendarV1Out(
        version=info.version,
        imported_at=info.imported_at,
        source=info.source,
        sessions=sessions,
        custody=custody,
        arrivals=arrivals,
    )


def _site_out(site_id: str, row: GoNoGoRow | None, cal: Calendar, now: datetime) -> GoNoGoSiteOut:
    city, site = site_id.split("/", 1)
    if row is None:
        upcoming = min((s for s in cal.sessions_at(site_id) if s.end > now), key=lambda s: s.start, default=None)
        return GoNoGoSiteOut(
            site_id=site_id,
            city=city,
            site=site,
            session=upcoming.id if upcoming else None,
            session_start=upcoming.start if upcoming else None,
            verdict="pending",
            reasons=[],
            checks=[],
            evaluated_at=None,
            trigger=None,
            requested_by=None,
        )
    start = next((s.start for s in cal.sessions if s.id == row.session), None)
    checks = [
        CheckOut(name=str(c.get("name", "")), ok=bool(c.get("ok")), reasons=_texts(c.get("reasons")))
        for c in row.checks
    ]
    return GoNoGoSiteOut(
        site_id=site_id,
        city=city,
        site=site,
        session=row.session,
        session_start=start,
        verdict="go" if row.green else "no_go",
        reasons=list(row.reasons),
        checks=checks,
        evaluated_at=row.evaluated_at,
        trigger=row.trigger,
        requested_by=row.requested_by or None,
    )


def _texts(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


@router.get("/gonogo", response_model=GoNoGoBoardOut, responses=REFUSALS, summary="Go / no-go per site")
def gonogo(ctx: Ctx, signed: Reader) -> GoNoGoBoardOut:
    plan = _plan(ctx)
    if plan is None:
        return GoNoGoBoardOut(sites=[])
    scope = signed.principal.scope
    cal = _calendar(plan)
    rows = {f"{r.city}/{r.site}": r for r in plan.latest_gonogo(scope)}
    sites = sorted({s for s in cal.sites() if _in(scope, s)} | rows.keys())
    now = ctx.clock()
    return GoNoGoBoardOut(sites=[_site_out(s, rows.get(s), cal, now) for s in sites])


def _known(plan: PlanStore, cal: Calendar, site_id: str) -> bool:
    return site_id in cal.sites() or site_id in plan.known_sites()


@router.post(
    "/gonogo/{city}/{site}/run",
    response_model=GoNoGoSiteOut,
    responses=NOT_FOUND,
    summary="Run the go / no-go for a site now (for its current or next session)",
)
def run_gonogo(city: Slug, site: Slug, request: Request, ctx: Ctx, signed: Actor) -> GoNoGoSiteOut:
    site_id = f"{city}/{site}"
    if not signed.principal.sees(city):
        ctx.out_of_scope(request, signed.principal, f"site {site_id}")
    plan = _needed(ctx)
    cal = _calendar(plan)
    if not _known(plan, cal, site_id):
        raise ApiError(404, "not_found")
    settings: RulesSettings = getattr(request.app.state, "rules", None) or RulesSettings()
    now = ctx.clock()
    checked = run_now(plan, site_id, now, settings.gonogo, signed.principal.username)
    r = checked.result
    ctx.audit(request, "gonogo.run", "ok", signed.principal, target=f"site {site_id}", session=r.session, green=r.green)
    row = GoNoGoRow(
        0,
        city,
        site,
        r.session,
        r.green,
        r.reasons,
        tuple({"name": c.name, "ok": c.ok, "reasons": list(c.reasons)} for c in r.checks),
        r.at,
        "demand",
        signed.principal.username,
    )
    return _site_out(site_id, row, cal, now)


@router.post(
    "/sites/{city}/{site}/arrival",
    response_model=ArrivalOut,
    status_code=201,
    responses={**NOT_FOUND, 422: {"model": Problem, "description": "arrived_at is in the future"}},
    summary="Report the papers' arrival in the site's vault (opens vault custody, rule V3)",
)
def report_arrival(*, city: Slug, site: Slug, body: ArrivalIn, request: Request, ctx: Ctx, signed: Actor) -> ArrivalOut:
    site_id = f"{city}/{site}"
    if not signed.principal.sees(city):
        ctx.out_of_scope(request, signed.principal, f"site {site_id}")
    plan = _needed(ctx)
    if not _known(plan, _calendar(plan), site_id):
        raise ApiError(404, "not_found")
    now = ctx.clock()
    arrived_at = body.arrived_at or now
    if arrived_at > now + FUTURE_SKEW:
        raise ApiError(422, "arrival.future", field="arrived_at")
    p = signed.principal
    row = plan.record_arrival(
        city=city,
        site=site,
        arrived_at=arrived_at,
        reported_at=now,
        reported_by=p.username,
        comment=body.comment.strip(),
    )
    ctx.audit(request, "arrival.report", "ok", p, target=f"site {site_id}", arrived_at=arrived_at.isoformat())
    return _arrival_out(row)
