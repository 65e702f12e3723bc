"""When to try a failed delivery again: exponential backoff with a cap, and a time to give up. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    initial_s: float = 2.0
    max_s: float = 300.0
    give_up_after_s: float = 86400.0


def delay_s(attempts: int, policy: RetryPolicy) -> float:
    """The wait after the ``attempts``-th failed attempt (1, 2, …): initial, doubled each time, capped."""
    exponent = min(max(attempts - 1, 0), 40)
    return min(policy.initial_s * float(2**exponent), policy.max_s)


def retry_at(
    *, attempts: int, created_at: datetime, now: datetime, retryable: bool, policy: RetryPolicy
) -> datetime | None:
    """When to try again, or None to give up (not retryable, or trying for too long already)."""
    if not retryable:
        return None
    at = now + timedelta(seconds=delay_s(attempts, policy))
    if at - created_at > timedelta(seconds=policy.give_up_after_s):
        return None
    return at
