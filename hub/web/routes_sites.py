"""Sites: the province overview, one site's page, its camera snapshots.  Scoped to the person's city."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from hub.store.records import SitesSnapshot
from hub.web.context import ApiError, Ctx, Signed, require
from hub.web.routes_auth import REFUSALS, Responses
from hub.web.schemas import OverviewOut, Problem, SiteDetailOut, SitesOut, SnapshotOut
from hub.web.tree import build_tree
from hub.web.views import VAULT_KIND, overview_out, site_detail_out

router = APIRouter(tags=["sites"])

Reader = Annotated[Signed, Depends(require("read_sites"))]
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]
DeviceId = Annotated[str, Path(min_length=1, max_length=64)]
Sha256 = Annotated[str, Path(pattern=r"^[0-9a-f]{64}$")]
NOT_FOUND: Responses = {**REFUSALS, 404: {"model": Problem, "description": "no such site here (or not in your city)"}}
TIMELINE = timedelta(days=1)


@router.get("/overview", response_model=OverviewOut, responses=REFUSALS, summary="Cities → sites, one colour each")
def overview(ctx: Ctx, signed: Reader) -> OverviewOut:
    scope = signed.principal.scope
    return overview_out(ctx.store.overview(scope), scope, ctx.clock())


@router.get("/sites", response_model=SitesOut, responses=REFUSALS, summary="Every agent and device (full tree)")
def sites(ctx: Ctx, signed: Reader) -> SitesOut:
    snapshot = ctx.store.sites()
    scope = signed.principal.scope
    if scope is not None:
        snapshot = SitesSnapshot(
            agents=tuple(a for a in snapshot.agents if a.city == scope),
            open_alerts={k: n for k, n in snapshot.open_alerts.items() if k[0] == scope},
        )
    return build_tree(snapshot, ctx.clock())


@router.get("/sites/{city}/{site}", response_model=SiteDetailOut, responses=NOT_FOUND, summary="One site's page")
def site(city: Slug, site: Slug, request: Request, ctx: Ctx, signed: Reader) -> SiteDetailOut:
    if not signed.principal.sees(city):
        ctx.out_of_scope(request, signed.principal, f"site {city}/{site}")
    now = ctx.clock()
    detail = ctx.store.site_detail(city, site, now - TIMELINE)
    if detail is None:
        raise ApiError(404, "not_found")
    return site_detail_out(detail, now)


@router.get(
    "/sites/{city}/{site}/snapshots/{device_id}",
    response_model=SnapshotOut,
    responses=NOT_FOUND,
    summary="A vault camera's latest snapshot: when, which picture, and where to fetch it",
)
def snapshot(*, city: Slug, site: Slug, device_id: DeviceId, request: Request, ctx: Ctx, signed: Reader) -> SnapshotOut:
    _camera_here(city, site, device_id, request=request, ctx=ctx, signed=signed)
    row = ctx.store.snapshot(city, site, device_id, None)
    if row is None:
        return SnapshotOut(site_id=f"{city}/{site}", device_id=device_id, available=False, taken_at=None)
    return SnapshotOut(
        site_id=f"{city}/{site}",
        device_id=device_id,
        available=True,
        taken_at=row.taken_at,
        sha256=row.sha256,
        width=row.width,
        height=row.height,
        image_url=f"/api/v1/sites/{city}/{site}/snapshots/{device_id}/{row.sha256}.jpg",
    )


@router.get(
    "/sites/{city}/{site}/snapshots/{device_id}/{sha256}.jpg",
    response_class=Response,
    responses={**NOT_FOUND, 200: {"content": {"image/jpeg": {}}, "description": "the JPEG"}},
    summary="One snapshot picture, by the hash its event names",
)
def snapshot_image(
    *, city: Slug, site: Slug, device_id: DeviceId, sha256: Sha256, request: Request, ctx: Ctx, signed: Reader
) -> Response:
    _camera_here(city, site, device_id, request=request, ctx=ctx, signed=signed)
    row = ctx.store.snapshot(city, site, device_id, sha256)
    if row is None:
        raise ApiError(404, "not_found")
    # Evidence pictures of people: never cached by a shared proxy or the browser's disk cache.
    return Response(row.data, media_type=row.content_type, headers={"Cache-Control": "private, no-store"})


def _camera_here(city: str, site: str, device_id: str, *, request: Request, ctx: Ctx, signed: Signed) -> None:
    """404 unless ``device_id`` is a vault camera of a site the person may see (other cities: 404 too)."""
    if not signed.principal.sees(city):
        ctx.out_of_scope(request, signed.principal, f"snapshot {city}/{site}/{device_id}")
    detail = ctx.store.site_detail(city, site, ctx.clock() - TIMELINE)
    cameras = {d.device_id for a in (detail.agents if detail else ()) for d in a.devices if d.kind == VAULT_KIND}
    if device_id not in cameras:
        raise ApiError(404, "not_found")
