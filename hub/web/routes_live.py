"""``GET /api/v1/live``: server-sent events telling the page what changed, within its city scope.

Events: ``hello`` once, ``change`` with ``[{"what", "city", "site"}, …]`` (``what`` = agent, device,
alert, event, or ``resync`` = reload everything), ``ping`` every ``live_ping_s`` so the page can tell a
dead connection from a quiet one, and ``signed_out`` when the session ends (revoked, disabled, expired).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from hub.errors import StoreError
from hub.store.live import Change
from hub.web.context import SESSION_COOKIE, Signed, WebContext, context
from hub.web.routes_auth import REFUSALS

router = APIRouter(tags=["live"])

# How often an open stream re-checks its session, so disabling a user ends their streams too.
SESSION_CHECK_S = 2.0
# Upper bound on how long a stream takes to notice that the hub is stopping.
WAKE_S = 0.5


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _changes(changes: list[Change]) -> list[dict[str, str]]:
    return [{"what": c.what, "city": c.city, "site": c.site} for c in changes]


async def _stream(ctx: WebContext, signed: Signed, token: str) -> AsyncIterator[str]:
    sub = ctx.live.subscribe(signed.principal.scope)
    ping_s = ctx.settings.live_ping_s
    try:
        yield "retry: 1000\n" + _event("hello", {"scope": signed.principal.scope, "ping_s": ping_s})
        last_ping = last_check = time.monotonic()
        while not ctx.stopping():
            try:
                changes = await asyncio.wait_for(sub.queue.get(), timeout=min(WAKE_S, ping_s))
            except TimeoutError:
                pass
            else:
                yield _event("change", _changes(changes))
            now = time.monotonic()
            if now - last_ping >= ping_s:
                last_ping = now
                yield _event("ping", {})
            if now - last_check >= SESSION_CHECK_S:
                last_check = now
                try:
                    still = await run_in_threadpool(ctx.check_session, token, ctx.clock())
                except StoreError:
                    continue  # the database being down is shown by the page's own requests
                if still is None:
                    yield _event("signed_out", {})
                    return
    finally:
        ctx.live.unsubscribe(sub)


@router.get(
    "/live",
    response_class=StreamingResponse,
    responses={**REFUSALS, 200: {"content": {"text/event-stream": {}}, "description": "an endless event stream"}},
    summary="Live change notifications (server-sent events)",
)
async def live(request: Request) -> StreamingResponse:
    ctx = context(request)
    signed = await run_in_threadpool(ctx.authenticate, request)
    token = request.cookies.get(SESSION_COOKIE, "")
    return StreamingResponse(
        _stream(ctx, signed, token),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
