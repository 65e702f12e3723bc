"""Cross-site request forgery: what a state-changing request must carry.

Two independent checks.  (1) Where the browser says where the request comes from (``Origin``, else
``Referer``), it must be this site or an allowed origin.  (2) The request must be JSON (a cross-site
form cannot send ``application/json`` without a CORS preflight, which we never grant) and, once signed
in, carry the session's CSRF token in ``X-CSRF-Token``.  Sign-in itself has no session yet, so (1) and
the JSON rule protect it.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER: Final = "x-csrf-token"


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of a URL, lower-cased; None when it has none (``null``, garbage)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def origin_allowed(*, origin: str | None, referer: str | None, own: str, allowed: frozenset[str]) -> bool:
    """Whether the request's stated origin is acceptable.  With neither header (a script, curl) the
    CSRF token alone decides; a browser always sends Origin on a cross-site POST."""
    stated = origin if origin is not None else referer
    if stated is None:
        return True
    got = origin_of(stated)
    return got is not None and (got == own.lower() or got in allowed)


def is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json"
