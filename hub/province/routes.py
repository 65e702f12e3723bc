"""Hub-to-hub endpoints (not part of the dashboard's API; signed, never a session):

* ``POST /federation/v1/escalations`` — the province receives a city hub's escalation, resolution or
  acknowledgement, and mirrors the alert on its own dashboard;
* ``POST /federation/v1/acknowledgements`` — a city receives the province's acknowledgement of one of its
  alerts.

Each request must be signed with the key shared with the sending hub (:mod:`hub.notify.signing`), recent,
and carry an ``Idempotency-Key``: a retried request gets the first one's receipt, and nothing twice.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from hub.errors import StoreError, StoreUnavailable
from hub.notify import signing
from hub.notify.errors import SignatureError
from hub.store.desk import DeskStore
from hub.web.schemas import Text

router = APIRouter(include_in_schema=False)

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,31}$"


@dataclass(frozen=True, slots=True)
class FederationState:
    role: str
    hub: str
    store: DeskStore
    # province: each city hub's key; city: the province's key (any sender name, one key)
    keys: Mapping[str, bytes] = field(default_factory=dict)
    province_key: bytes | None = None
    max_skew_s: float = 300.0


class AlertIn(BaseModel):
    id: int = Field(ge=1)
    version: int = Field(ge=0)
    fingerprint: Text = Field(max_length=500)
    kind: Text = Field(max_length=100)
    severity: Literal["info", "warning", "critical"]
    city: Annotated[str, Field(pattern=_SLUG)]
    site: Text = Field(max_length=100)
    agent_id: Text = Field(max_length=200)
    device_id: Text | None = Field(default=None, max_length=200)
    summary: Text = Field(max_length=2000)
    details: dict[str, Any] = {}
    opened_at: datetime
    fired_at: datetime | None = None
    closed_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: Text | None = Field(default=None, max_length=200)
    ack_comment: Text | None = Field(default=None, max_length=2000)
    occurrences: int = Field(default=1, ge=1)
    generation: int = Field(default=1, ge=1)
    flapping: bool = False
    origin_hub: Text | None = Field(default=None, max_length=100)
    origin_alert_id: int | None = None


class DeliveryIn(BaseModel):
    v: Literal[1]
    hub: Annotated[str, Field(pattern=_SLUG)]
    role: Literal["city", "province"]
    event: Literal["firing", "flapping", "renotify", "escalated", "resolved", "acknowledged"]
    n: int = 0
    alert: AlertIn


def _refuse(status: int, detail: str, reason: str = "") -> JSONResponse:
    body = {"detail": detail, **({"reason": reason} if reason else {})}
    return JSONResponse(body, status_code=status)


async def _receive(request: Request, expect_role: str) -> JSONResponse:
    state: FederationState | None = getattr(request.app.state, "federation", None)
    if state is None or state.role != expect_role:
        return _refuse(404, "not_found")
    sender = request.headers.get(signing.HUB_HEADER, "")
    key = state.keys.get(sender) if state.role == "province" else state.province_key
    if key is None:
        return _refuse(401, "federation.unknown_hub", f"no key for hub {sender!r}")
    body = await request.body()
    try:
        signing.verify(
            key,
            body,
            request.headers.get(signing.TIMESTAMP_HEADER),
            request.headers.get(signing.SIGNATURE_HEADER),
            now=time.time(),
            max_skew_s=state.max_skew_s,
        )
    except SignatureError as exc:
        return _refuse(401, "federation.bad_signature", str(exc))
    try:
        idem = str(UUID(request.headers.get(signing.IDEMPOTENCY_HEADER, "")))
    except ValueError:
        return _refuse(422, "federation.idempotency_key_required")
    try:
        delivery = DeliveryIn.model_validate_json(body)
    except ValidationError as exc:
        return _refuse(422, "request.invalid", str(exc.errors()[0].get("loc", "")))
    if delivery.hub != sender:
        return _refuse(401, "federation.unknown_hub", "the body names another hub than the header")
    payload = delivery.model_dump(mode="json")
    try:
        receipt = await run_in_threadpool(
            state.store.receive,
            hub=sender,
            key=idem,
            event=delivery.event,
            sent_at=None,
            payload=payload,
            now=datetime.now(UTC),
            role=state.role,
        )
    except StoreUnavailable:
        return _refuse(503, "database.unavailable")
    except StoreError:
        return _refuse(500, "database.error")
    return JSONResponse(receipt.as_json())


@router.post("/federation/v1/escalations")
async def escalations(request: Request) -> JSONResponse:
    return await _receive(request, "province")


@router.post("/federation/v1/acknowledgements")
async def acknowledgements(request: Request) -> JSONResponse:
    return await _receive(request, "city")
