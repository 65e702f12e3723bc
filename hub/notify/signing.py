"""Signed HTTP bodies, sans-I/O: HMAC-SHA256 over ``"<timestamp>." + body`` with a shared key.

Headers: ``X-SiteWatch-Timestamp`` (Unix seconds) and ``X-SiteWatch-Signature: v1=<hex>``.  Signing the
timestamp with the body lets a receiver refuse an old request replayed later (``max_skew_s``); the
``Idempotency-Key`` header (not signed: the body already names the delivery) lets it keep one copy of a
request retried after a lost answer.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

from hub.notify.errors import SignatureError

TIMESTAMP_HEADER: Final = "X-SiteWatch-Timestamp"
SIGNATURE_HEADER: Final = "X-SiteWatch-Signature"
HUB_HEADER: Final = "X-SiteWatch-Hub"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
SCHEME: Final = "v1="


def signature(key: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return SCHEME + mac.hexdigest()


def sign(key: bytes, body: bytes, now: float) -> dict[str, str]:
    ts = int(now)
    return {TIMESTAMP_HEADER: str(ts), SIGNATURE_HEADER: signature(key, ts, body)}


def verify(
    key: bytes, body: bytes, timestamp: str | None, signed: str | None, *, now: float, max_skew_s: float
) -> None:
    """Raise :class:`SignatureError` unless ``signed`` is ``body``'s signature at ``timestamp``, and recent."""
    if not timestamp or not signed:
        raise SignatureError("the request is not signed")
    try:
        ts = int(timestamp)
    except ValueError:
        raise SignatureError("the timestamp is not a number") from None
    if not hmac.compare_digest(signature(key, ts, body), signed.strip()):
        raise SignatureError("the signature does not match")
    if abs(now - ts) > max_skew_s:
        raise SignatureError(f"the timestamp is {now - ts:+.0f} s off (at most {max_skew_s:.0f} s accepted)")
