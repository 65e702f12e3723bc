"""The HTML pages: one shell (static/index.html) that the page's script fills from the API.

Pages are checked on the server like the API: signed out → the sign-in page; a role that may not see
the page → 403; another city's site → 404, exactly as for a site that does not exist.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from importlib import resources
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.auth.roles import Permission
from hub.web.context import ApiError, Signed, WebContext, context

STATIC_DIR = resources.files("hub.web") / "static"
SHELL = (STATIC_DIR / "index.html").read_text(encoding="utf-8")

router = APIRouter(include_in_schema=False)
Slug = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")]


def render(ctx: WebContext, request: Request, page: str, status: int = 200, **data: str) -> HTMLResponse:
    lang = ctx.language(request)
    title = ctx.catalogues.text(lang, f"page.{page}") + " · " + ctx.catalogues.text(lang, "app.title")
    attrs = " ".join(f'data-{k}="{html.escape(v)}"' for k, v in data.items())
    body = (
        SHELL.replace("{{lang}}", lang)
        .replace("{{title}}", html.escape(title))
        .replace("{{page}}", page)
        .replace("{{data}}", attrs)
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def _page(request: Request, page: str, permission: Permission) -> tuple[WebContext, Signed | Response]:
    ctx = context(request)
    try:
        signed = ctx.authenticate(request)
    except ApiError:
        target = quote(request.url.path, safe="/")
        return ctx, RedirectResponse(f"/sign-in?next={target}", status_code=303)
    if not signed.principal.may(permission):
        ctx.audit(request, "authorise", "refused", signed.principal, target=request.url.path, reason=permission)
        return ctx, render(ctx, request, "forbidden", status=403)
    return ctx, signed


def _simple(page: str, permission: Permission) -> Callable[[Request], Response]:
    def handler(request: Request) -> Response:
        ctx, signed = _page(request, page, permission)
        return signed if isinstance(signed, Response) else render(ctx, request, page)

    return handler


_SIMPLE_PAGES: tuple[tuple[str, str, Permission], ...] = (
    ("/", "overview", "read_sites"),
    ("/wall", "wall", "read_sites"),
    ("/alerts", "alerts", "read_sites"),
    ("/calendar", "calendar", "read_sites"),
    ("/gonogo", "gonogo", "read_sites"),
    ("/users", "users", "manage_users"),
    ("/audit", "audit", "read_audit"),
)
for _path, _name, _permission in _SIMPLE_PAGES:
    router.add_api_route(_path, _simple(_name, _permission), methods=["GET"], response_class=HTMLResponse)


@router.get("/sites/{city}/{site}", response_class=HTMLResponse)
def site_page(city: Slug, site: Slug, request: Request) -> Response:
    ctx, signed = _page(request, "site", "read_sites")
    if isinstance(signed, Response):
        return signed
    if not signed.principal.sees(city):
        ctx.audit(request, "authorise", "refused", signed.principal, target=f"site {city}/{site}", reason="scope")
        return render(ctx, request, "not_found", status=404)
    return render(ctx, request, "site", city=city, site=site)


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request) -> Response:
    return render(context(request), request, "sign_in")
