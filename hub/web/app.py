"""The FastAPI app: health, the versioned JSON API (``/api/v1``; OpenAPI at ``/api/v1/openapi.json``),
the live event stream, and the dashboard's pages.

Handlers are plain ``def`` (FastAPI runs them in its thread pool) because the store is synchronous;
they call the store's methods and never hold SQL themselves.  Every route but ``/healthz``, the
sign-in page, sign-in itself and the language catalogues needs a session (see :mod:`hub.web.context`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from importlib import resources
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from hub.auth.passwords import Passwords
from hub.config import WebSection
from hub.errors import StoreError, StoreUnavailable
from hub.i18n import Catalogues
from hub.rules.health_runner import HubMonitor
from hub.stats import Stats
from hub.web import pages, routes_admin, routes_alerts, routes_auth, routes_live, routes_plan, routes_sites
from hub.web.context import ApiError, WebContext
from hub.web.guard import Guard
from hub.web.live import LiveHub
from hub.web.ports import DashboardStore
from hub.web.schemas import HealthOut, HubAlertOut, Problem

PROBLEM_REF = "#/components/schemas/Problem"

STATIC_DIR = resources.files("hub.web") / "static"
log = logging.getLogger("sitewatch.hub.web")


def create_app(
    store: DashboardStore,
    stats: Stats,
    settings: WebSection | None = None,
    *,
    live: LiveHub | None = None,
    stopping: Callable[[], bool] | None = None,
    passwords: Passwords | None = None,
) -> FastAPI:
    settings = settings or WebSection()
    ctx = WebContext(
        store=store,
        stats=stats,
        settings=settings,
        passwords=passwords or Passwords(),
        catalogues=Catalogues(),
        live=live or LiveHub(),
        stopping=stopping or (lambda: False),
    )
    app = FastAPI(
        title="SiteWatch hub",
        version="1",
        description="The city duty desk's API. Sign in with POST /api/v1/session; send the returned csrf_token "
        "as X-CSRF-Token on every POST.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads from a CDN; the hub serves nothing from outside
        redoc_url=None,
    )
    app.state.ctx = ctx

    @app.exception_handler(ApiError)
    def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        body: dict[str, object] = {"detail": exc.code}
        headers = {}
        if exc.retry_after_s is not None:
            body["retry_after_s"] = exc.retry_after_s
            headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        if exc.field is not None:
            body["field"] = exc.field
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(StoreError)
    def _store_error(request: Request, exc: StoreError) -> JSONResponse:
        if isinstance(exc, StoreUnavailable):
            return JSONResponse({"detail": "database.unavailable"}, status_code=503)
        log.error("%s %s: the database refused: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": "database.error"}, status_code=500)

    @app.exception_handler(RequestValidationError)
    def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        field = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        return JSONResponse({"detail": "request.invalid", "field": field}, status_code=422)

    def held_alerts() -> HubMonitor | None:
        monitor: HubMonitor | None = getattr(app.state, "hub_monitor", None)
        return monitor

    @app.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}}, tags=["health"])
    def healthz() -> JSONResponse:
        monitor = held_alerts()
        try:
            store.ping()
        except StoreError as exc:
            database, code = f"unreachable: {exc}", 503
        else:
            database, code = "ok", 200
        body = HealthOut(
            status="ok" if code == 200 else "unavailable",
            database=database,
            mqtt=stats.mqtt_connected,
            storage=store.storage.mode,
            storage_detail=store.storage.describe(),
            counters=stats.snapshot(),
            hub_alerts=[HubAlertOut(**asdict(a)) for a in monitor.held()] if monitor is not None else [],
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=code)

    v1 = APIRouter()
    for module in (routes_auth, routes_sites, routes_alerts, routes_admin, routes_plan, routes_live):
        v1.include_router(module.router)
    app.include_router(v1, prefix="/api/v1")
    # The unversioned paths of the first dashboard, kept for their callers; same rules, not documented.
    unversioned = APIRouter(include_in_schema=False)
    unversioned.add_api_route("/sites", routes_sites.sites, methods=["GET"])
    unversioned.include_router(routes_alerts.legacy)
    app.include_router(unversioned, prefix="/api")

    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    _document_problems(app)

    def on_refusal(request: Request, reason: str) -> None:
        ctx.audit(request, "csrf", "refused", target=request.url.path, reason=reason)

    app.add_middleware(Guard, allowed_origins=frozenset(o.lower() for o in settings.allowed_origins),
                       on_refusal=on_refusal)  # fmt: skip
    return app


def _document_problems(app: FastAPI) -> None:
    """Say in the OpenAPI what the error handlers really send: a :class:`Problem` for invalid input (422),
    an unreadable body (400) and an unreachable database (503), instead of FastAPI's own 422 shape."""
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = default_openapi()
        problem = {"description": "refused", "content": {"application/json": {"schema": {"$ref": PROBLEM_REF}}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                if "422" in responses or "requestBody" in operation:
                    responses["422"] = problem
                if "requestBody" in operation:
                    responses["400"] = problem
                responses.setdefault("503", problem)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
