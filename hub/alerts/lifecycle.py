"""One fingerprint's alert through its life: a pure state machine over raise, clear, tick and acknowledge.

    (nothing) ──raise──▶ pending ──for_s elapsed──▶ firing ──ack──▶ acknowledged
                           │ clear                    │ clear            │ clear
                           ▼                          ▼                  ▼
                        (discarded, never shown)   resolved ◀────────────┘

* One alert per fingerprint: raising an alert that is already open changes nothing (callers may raise on
  every evaluation).  A resolved alert raised again within the flap window is *reopened* (same alert, one
  more occurrence, acknowledgement cleared: it needs action again); later, it is a new alert.
* Flapping: when the openings inside the flap window reach the policy's count, the alert is flapping.
  A flapping alert is held open: a clear only marks the condition inactive, a raise marks it active again
  (one more occurrence) and nobody is re-notified.  After ``calm_s`` without a change it stops flapping:
  resolved if the condition is inactive then, firing on otherwise.
* ``generation`` counts the openings the desk must hear about (the first firing, each reopening); holds
  while flapping do not change it, so notifications keyed on it are not repeated.

Every input carries ``now``; the same inputs always give the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from hub.alerts.model import KindPolicy, State

Effect = Literal[
    "none",  # nothing changed worth writing
    "pending",  # a new pending alert (not shown until it fires)
    "fired",  # a new alert is firing (a new row)
    "reopened",  # a resolved alert came back within the flap window (same row)
    "flapping",  # ... and that reopening made it flapping
    "held",  # a flapping alert's condition came or went; it stays open, nobody is told
    "calmed",  # it stopped flapping and is still raised
    "resolved",
    "discarded",  # a pending alert cleared before it fired
    "acknowledged",
    "raised_severity",  # raised again with a higher severity
]

_RANK = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class Tracked:
    state: State
    severity: str
    # pending: when first raised; otherwise when it last (re)opened
    since: datetime
    active: bool = True
    flapping: bool = False
    occurrences: int = 1
    generation: int = 1
    # (re)openings inside the flap window, oldest first
    openings: tuple[datetime, ...] = ()
    last_change: datetime | None = None
    closed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Raise:
    at: datetime
    severity: str


@dataclass(frozen=True, slots=True)
class Clear:
    at: datetime


@dataclass(frozen=True, slots=True)
class Tick:
    at: datetime


@dataclass(frozen=True, slots=True)
class Acknowledge:
    at: datetime


Input = Raise | Clear | Tick | Acknowledge


@dataclass(frozen=True, slots=True)
class Step:
    """The state after one input (None: nothing tracked) and what happened."""

    tracked: Tracked | None
    effect: Effect = "none"


def step(prev: Tracked | None, event: Input, policy: KindPolicy) -> Step:
    if isinstance(event, Raise):
        return _raise(prev, event, policy)
    if isinstance(event, Clear):
        return _clear(prev, event)
    if isinstance(event, Tick):
        return _tick(prev, event, policy)
    return _acknowledge(prev, event)


def _recent(openings: tuple[datetime, ...], now: datetime, policy: KindPolicy) -> tuple[datetime, ...]:
    since = now - timedelta(seconds=policy.flap.window_s)
    return tuple(t for t in openings if t >= since)


def _new(event: Raise, policy: KindPolicy) -> Step:
    if policy.for_s > 0:
        return Step(Tracked(state="pending", severity=event.severity, since=event.at, openings=()), "pending")
    return Step(_firing(event.at, event.severity), "fired")


def _firing(at: datetime, severity: str) -> Tracked:
    return Tracked(state="firing", severity=severity, since=at, openings=(at,), last_change=at)


def _raise(prev: Tracked | None, event: Raise, policy: KindPolicy) -> Step:
    now = event.at
    if prev is None:
        return _new(event, policy)
    if prev.state == "pending":
        if now - prev.since >= timedelta(seconds=policy.for_s):
            return Step(_firing(now, _higher(prev.severity, event.severity)), "fired")
        return Step(replace(prev, severity=_higher(prev.severity, event.severity)))
    if prev.state == "resolved":
        closed = prev.closed_at or prev.since
        if now - closed > timedelta(seconds=policy.flap.window_s):
            return _new(event, policy)
        openings = (*_recent(prev.openings, now, policy), now)
        flapping = len(openings) >= policy.flap.openings
        reopened = Tracked(
            state="firing",
            severity=event.severity,
            since=now,
            active=True,
            flapping=flapping,
            occurrences=prev.occurrences + 1,
            generation=prev.generation + 1,
            openings=openings,
            last_change=now,
        )
        return Step(reopened, "flapping" if flapping else "reopened")
    # firing or acknowledged
    severity = _higher(prev.severity, event.severity)
    if not prev.active:
        openings = (*_recent(prev.openings, now, policy), now)
        held = replace(
            prev, active=True, occurrences=prev.occurrences + 1, openings=openings, last_change=now, severity=severity
        )
        return Step(held, "held")
    if severity != prev.severity:
        return Step(replace(prev, severity=severity), "raised_severity")
    return Step(prev)


def _higher(a: str, b: str) -> str:
    return b if _RANK.get(b, 0) > _RANK.get(a, 0) else a


def _clear(prev: Tracked | None, event: Clear) -> Step:
    if prev is None or prev.state == "resolved":
        return Step(prev)
    if prev.state == "pending":
        return Step(None, "discarded")
    if prev.flapping:
        if not prev.active:
            return Step(prev)
        return Step(replace(prev, active=False, last_change=event.at), "held")
    return Step(replace(prev, state="resolved", active=False, closed_at=event.at, last_change=event.at), "resolved")


def _tick(prev: Tracked | None, event: Tick, policy: KindPolicy) -> Step:
    if prev is None or prev.state == "resolved":
        return Step(prev)
    now = event.at
    if prev.state == "pending":
        if now - prev.since >= timedelta(seconds=policy.for_s):
            return Step(_firing(now, prev.severity), "fired")
        return Step(prev)
    if not prev.flapping:
        return Step(prev)
    last = prev.last_change or prev.since
    if now - last < timedelta(seconds=policy.flap.calm_s):
        return Step(prev)
    if prev.active:
        return Step(replace(prev, flapping=False), "calmed")
    return Step(replace(prev, flapping=False, state="resolved", closed_at=now, last_change=now), "resolved")


def _acknowledge(prev: Tracked | None, event: Acknowledge) -> Step:
    # Nothing to acknowledge before it fires, nor after it resolved (it resolved before anyone acted).
    if prev is None or prev.state != "firing":
        return Step(prev)
    return Step(replace(prev, state="acknowledged"), "acknowledged")


def state_of(*, closed: bool, acknowledged: bool) -> State:
    if closed:
        return "resolved"
    return "acknowledged" if acknowledged else "firing"


def next_tick(prev: Tracked, policy: KindPolicy) -> datetime | None:
    """When a tick could next change ``prev`` (a pending alert firing, a flapping one calming down)."""
    if prev.state == "pending":
        return prev.since + timedelta(seconds=policy.for_s)
    if prev.state != "resolved" and prev.flapping:
        return (prev.last_change or prev.since) + timedelta(seconds=policy.flap.calm_s)
    return None
