"""Delivery to the other hub: a city's escalations to the province, the province's acknowledgements back.

A signed POST (:mod:`hub.notify.signing`) naming the sending hub and the notification's idempotency key;
the answer is the receiver's receipt (its inbox id and receive time, and whether it had it already), kept
with the notification as the proof of delivery.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Final

from hub.notify import post, signing
from hub.notify.base import Notification
from hub.notify.errors import NotifyError

ESCALATIONS_PATH: Final = "/federation/v1/escalations"
ACKNOWLEDGEMENTS_PATH: Final = "/federation/v1/acknowledgements"


class FederationNotifier:
    def __init__(
        self,
        target: str,
        base_url: str,
        path: str,
        *,
        hub: str,
        key: bytes,
        timeout_s: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.target = target
        self._url = base_url.rstrip("/") + path
        self._hub = hub
        self._key = key
        self._timeout_s = timeout_s
        self._clock = clock

    def send(self, n: Notification) -> dict[str, Any]:
        body = json.dumps(n.payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {
            **signing.sign(self._key, body, self._clock()),
            signing.HUB_HEADER: self._hub,
            signing.IDEMPOTENCY_HEADER: n.key,
        }
        _status, answer = post.post(self._url, body, headers, self._timeout_s, retry_auth=True)
        try:
            receipt = json.loads(answer)
        except ValueError as exc:
            raise NotifyError(f"{self._url}: the receipt is not JSON", retryable=True) from exc
        if not isinstance(receipt, dict) or "receipt" not in receipt:
            raise NotifyError(f"{self._url}: no receipt in the answer", retryable=True)
        return receipt
