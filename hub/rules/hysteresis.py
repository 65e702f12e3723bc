"""The one hysteresis every rule family shares: a finding becomes an alert only after it has held for its
``for`` delay, and a raised alert clears only after the finding has been absent for ``clear_after``.

Pure and generic over the finding type (anything with a ``fingerprint``): the jammer and reader findings,
the vault episodes and the health rules all advance through :func:`track`; they differ only in how long
each finding must hold (``delay``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar


class HasFingerprint(Protocol):
    @property
    def fingerprint(self) -> str: ...


F = TypeVar("F", bound=HasFingerprint)


@dataclass(frozen=True, slots=True)
class Tracked(Generic[F]):
    finding: F
    first_seen: datetime
    last_seen: datetime
    raised_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Raise(Generic[F]):
    finding: F
    at: datetime
    # When the condition began: ``at - since`` is how long it held before the alert.
    since: datetime


@dataclass(frozen=True, slots=True)
class Clear(Generic[F]):
    finding: F
    at: datetime


def resumed(open_alerts: Iterable[tuple[F, datetime]], now: datetime) -> dict[str, Tracked[F]]:
    """The state for alerts still open from before a restart (finding, opened at), so that they clear by
    the usual rule if their condition is gone, instead of staying open forever."""
    return {f.fingerprint: Tracked(f, first_seen=opened, last_seen=now, raised_at=opened) for f, opened in open_alerts}


def track(
    state: Mapping[str, Tracked[F]],
    findings: Iterable[F],
    now: datetime,
    *,
    delay: Callable[[F], timedelta],
    clear_after: timedelta,
) -> tuple[dict[str, Tracked[F]], list[Raise[F] | Clear[F]]]:
    """Advance by one evaluation.

    ``findings`` must be everything the evaluation found over the scope ``state`` covers (e.g. one site's
    rooms): a tracked finding missing from it counts as absent.  A pending finding that goes absent is
    forgotten at once (it never held long enough); a raised one clears after ``clear_after`` of absence.
    Returns the new state (store it for the next call) and the alerts to open and to close.
    """
    present = {f.fingerprint: f for f in findings}
    out: dict[str, Tracked[F]] = {}
    decisions: list[Raise[F] | Clear[F]] = []
    for fingerprint, finding in present.items():
        before = state.get(fingerprint)
        item = Tracked(finding, now, now) if before is None else replace(before, finding=finding, last_seen=now)
        if item.raised_at is None and now - item.first_seen >= delay(finding):
            item = replace(item, raised_at=now)
            decisions.append(Raise(finding, now, item.first_seen))
        out[fingerprint] = item
    for fingerprint, item in state.items():
        if fingerprint in present or item.raised_at is None:
            continue
        if now - item.last_seen >= clear_after:
            decisions.append(Clear(item.finding, now))
        else:
            out[fingerprint] = item
    return out, decisions
