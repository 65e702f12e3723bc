"""What every notifier shares: the notification it is handed, and the one method it implements."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Notification:
    key: str  # the idempotency key: the same for every attempt of this notification
    target: str
    event: str
    payload: dict[str, Any]  # {"v", "hub", "event", "alert": {...}}
    attempts: int


class Notifier(Protocol):
    target: str

    def send(self, n: Notification) -> dict[str, Any]:
        """Deliver; returns the receipt to keep.  Raises :class:`hub.notify.errors.NotifyError`."""
        ...
