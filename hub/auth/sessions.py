"""When a server-side session is still good: not revoked, user not disabled, within the idle and the
absolute timeout.  Pure: the store supplies the row, the caller the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

SessionVerdict = Literal["ok", "revoked", "disabled", "idle", "expired"]


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    idle_s: float
    absolute_s: float

    def expires_at(self, created: datetime) -> datetime:
        return created + timedelta(seconds=self.absolute_s)

    def judge(
        self, *, now: datetime, last_seen: datetime, expires_at: datetime, revoked: bool, disabled: bool
    ) -> SessionVerdict:
        if revoked:
            return "revoked"
        if disabled:
            return "disabled"
        if now >= expires_at:
            return "expired"
        if now - last_seen >= timedelta(seconds=self.idle_s):
            return "idle"
        return "ok"

    def should_touch(self, *, now: datetime, last_seen: datetime) -> bool:
        """Record activity at most every tenth of the idle timeout (and at least every minute): a write per
        request would cost more than the precision is worth."""
        step = min(60.0, self.idle_s / 10)
        return now - last_seen >= timedelta(seconds=step)
