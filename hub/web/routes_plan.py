"""The exam calendar and the go / no-go board: empty until the calendar issue stores sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from hub.web.context import Signed, require
from hub.web.routes_auth import REFUSALS
from hub.web.schemas import CalendarOut, GoNoGoOut

router = APIRouter(tags=["exam plan"])

Reader = Annotated[Signed, Depends(require("read_sites"))]


@router.get("/calendar", response_model=CalendarOut, responses=REFUSALS, summary="Exam sittings (placeholder)")
def calendar(_signed: Reader) -> CalendarOut:
    return CalendarOut(sessions=[])


@router.get("/gonogo", response_model=GoNoGoOut, responses=REFUSALS, summary="Go / no-go per site (placeholder)")
def gonogo(_signed: Reader) -> GoNoGoOut:
    return GoNoGoOut(sites=[])
