"""The FastAPI app: health, the JSON API the dashboard polls, and the dashboard page itself.

Handlers are plain ``def`` (FastAPI runs them in its thread pool) because the store is synchronous;
they call the store's query methods and never hold SQL themselves.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import resources
from typing import Literal, Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from hub.errors import StoreError
from hub.stats import Stats
from hub.store.records import AlertRow, SitesSnapshot, StorageInfo
from hub.web.schemas import AlertsOut, HealthOut, SitesOut
from hub.web.tree import alert_out, build_tree

STATIC_DIR = resources.files("hub.web") / "static"


class SiteQueries(Protocol):
    """What the web reads; :class:`hub.store.ReadStore` implements it, tests may pass a fake."""

    storage: StorageInfo

    def ping(self) -> None: ...

    def sites(self) -> SitesSnapshot: ...

    def alerts(self, state: Literal["open", "all"]) -> list[AlertRow]: ...


def _api(queries: SiteQueries) -> APIRouter:
    router = APIRouter()

    @router.get("/sites", response_model=SitesOut)
    def sites() -> SitesOut:
        return build_tree(queries.sites(), datetime.now(UTC))

    @router.get("/alerts", response_model=AlertsOut)
    def alerts(state: Literal["open", "all"] = "open") -> AlertsOut:
        return AlertsOut(state=state, alerts=[alert_out(a) for a in queries.alerts(state)])

    return router


def create_app(queries: SiteQueries, stats: Stats) -> FastAPI:
    app = FastAPI(title="SiteWatch hub", version="1")

    @app.exception_handler(StoreError)
    def _store_down(_request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": f"database unavailable: {exc}"}, status_code=503)

    @app.get("/healthz", response_model=HealthOut, responses={503: {"model": HealthOut}})
    def healthz() -> JSONResponse:
        try:
            queries.ping()
        except StoreError as exc:
            database, code = f"unreachable: {exc}", 503
        else:
            database, code = "ok", 200
        body = HealthOut(
            status="ok" if code == 200 else "unavailable",
            database=database,
            mqtt=stats.mqtt_connected,
            storage=queries.storage.mode,
            storage_detail=queries.storage.describe(),
            counters=stats.snapshot(),
        )
        return JSONResponse(body.model_dump(mode="json"), status_code=code)

    api = _api(queries)
    app.include_router(api, prefix="/api")
    app.include_router(api, prefix="/api/v1")

    @app.get("/", include_in_schema=False)
    def dashboard() -> FileResponse:
        return FileResponse(str(STATIC_DIR / "index.html"), media_type="text/html; charset=utf-8")

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    return app
