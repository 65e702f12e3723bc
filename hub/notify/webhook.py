"""A generic signed webhook: POST the notification as JSON, signed (:mod:`hub.notify.signing`)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from hub.notify import post, signing
from hub.notify.base import Notification


class WebhookNotifier:
    def __init__(
        self, name: str, url: str, key: bytes, *, timeout_s: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.target = f"desk:{name}"
        self._url = url
        self._key = key
        self._timeout_s = timeout_s
        self._clock = clock

    def send(self, n: Notification) -> dict[str, Any]:
        body = json.dumps({**n.payload, "key": n.key}, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        headers = {**signing.sign(self._key, body, self._clock()), signing.IDEMPOTENCY_HEADER: n.key}
        status, _ = post.post(self._url, body, headers, self._timeout_s)
        return {"status": status}
