"""ASGI middleware in front of every route: the origin and JSON rules for state-changing requests
(see :mod:`hub.auth.csrf`), security headers, and a ``Server-Timing`` header with the server's time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth.csrf import SAFE_METHODS, is_json, origin_allowed

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    ),
]

# Called (in a worker thread) with the request and the reason, to write the audit row.
OnRefusal = Callable[[Request, str], None]


class Guard:
    def __init__(self, app: ASGIApp, allowed_origins: frozenset[str], on_refusal: OnRefusal) -> None:
        self.app = app
        self.allowed = allowed_origins
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        if scope["method"] not in SAFE_METHODS:
            reason = self._refusal(scope)
            if reason is not None:
                await run_in_threadpool(self.on_refusal, Request(scope), reason)
                await self._refuse(send, reason)
                return
        is_api = scope["path"].startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(SECURITY_HEADERS)
                headers.append((b"server-timing", f"app;dur={(time.perf_counter() - began) * 1000:.1f}".encode()))
                if is_api and not any(k.lower() == b"cache-control" for k, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _refusal(self, scope: Scope) -> str | None:
        headers = Headers(scope=scope)
        scheme = scope.get("scheme", "http")
        own = f"{scheme}://{headers.get('host', '')}"
        if not origin_allowed(
            origin=headers.get("origin"), referer=headers.get("referer"), own=own, allowed=self.allowed
        ):
            return "origin"
        if not is_json(headers.get("content-type")):
            return "content_type"
        return None

    @staticmethod
    async def _refuse(send: Send, reason: str) -> None:
        body = json.dumps({"detail": "csrf.refused", "field": reason}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 403,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    *SECURITY_HEADERS,
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
