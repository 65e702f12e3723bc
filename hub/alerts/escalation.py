"""Who hears about an alert, and when: the escalation chain of its severity, as a pure plan.

Stages, per severity (``[escalation.<severity>]`` in the hub config):

1. the city desk — the dashboard shows the alert at once; the desk's notifiers (webhook, e-mail) are
   told ``firing`` at once (``flapping`` instead when it reopened into flapping);
2. the province — at once when ``province_after_s`` is 0 (critical alerts), else when the alert is still
   unacknowledged that long after it (re)opened; never when unset;
3. re-notification — the desk again every ``renotify_every_s`` until someone acknowledges;
4. resolution — whoever was told it fired is told it resolved;
5. acknowledgement — travels to the other side: a city's acknowledgement to the province once the province
   knows the alert, the province's back to the city that sent it (never back to where it came from).

A silence quiets stage 1 and 3 only; an inhibition quiets all of them (the inhibiting alert carries the
news).  ``generation`` (see :mod:`hub.alerts.lifecycle`) keys the notifications: each opening is told
once per channel, holds while flapping are not told at all.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Literal

from hub.alerts.mute import Mute

Channel = Literal["desk", "province", "origin"]
Event = Literal["firing", "flapping", "renotify", "escalated", "resolved", "acknowledged"]


@dataclass(frozen=True, slots=True)
class Chain:
    province_after_s: float | None = None
    renotify_every_s: float | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """An alert as the planner sees it, with the bookkeeping of what was already sent."""

    severity: str
    fired_at: datetime  # when it last (re)opened
    generation: int
    closed: bool = False
    acknowledged: bool = False
    ack_remote: bool = False  # acknowledged by the other hub, not here
    flapping: bool = False
    mirrored: bool = False  # province: this alert came from a city hub
    # bookkeeping
    desk_gen: int = 0
    flap_notified: bool = False
    renotified_at: datetime | None = None
    renotify_count: int = 0
    province_gen: int = 0
    resolved_gen: int = 0
    ack_sent: bool = False


@dataclass(frozen=True, slots=True)
class Send:
    channel: Channel
    event: Event
    # distinguishes repeated sends of the same event (the generation, or the re-notification's number)
    n: int


@dataclass(frozen=True, slots=True)
class Plan:
    sends: tuple[Send, ...]
    facts: Facts
    # when to look at this alert again (None: only when it changes)
    next_at: datetime | None


def plan(
    f: Facts, chain: Chain, mute: Mute | None, now: datetime, *, has_province: bool, recheck_s: float = 5.0
) -> Plan:
    sends: list[Send] = []
    wake: list[datetime] = []
    if f.acknowledged and not f.ack_remote and not f.ack_sent:
        if f.mirrored:
            sends.append(Send("origin", "acknowledged", f.generation))
            f = replace(f, ack_sent=True)
        elif has_province and f.province_gen > 0:
            sends.append(Send("province", "acknowledged", f.generation))
            f = replace(f, ack_sent=True)
    if f.closed:
        if f.resolved_gen < f.generation:
            if f.desk_gen > f.resolved_gen:
                sends.append(Send("desk", "resolved", f.generation))
            if f.province_gen > f.resolved_gen and not f.mirrored:
                sends.append(Send("province", "resolved", f.generation))
            f = replace(f, resolved_gen=f.generation)
        return Plan(tuple(sends), f, None)
    if mute is not None and mute.reason == "inhibition":
        return Plan(tuple(sends), f, now + timedelta(seconds=recheck_s))

    silenced = mute is not None
    if silenced and mute is not None and mute.until is not None:
        wake.append(mute.until)
    if not silenced:
        f = _desk(f, chain, now, sends)
    if not f.acknowledged and f.desk_gen == f.generation and chain.renotify_every_s is not None:
        wake.append(_renotify_due(f, chain.renotify_every_s))
    after = chain.province_after_s
    if has_province and not f.mirrored and not f.acknowledged and after is not None and f.province_gen < f.generation:
        due = f.fired_at + timedelta(seconds=after)
        if now >= due:
            sends.append(Send("province", "escalated", f.generation))
            f = replace(f, province_gen=f.generation)
        else:
            wake.append(due)
    if silenced and f.desk_gen < f.generation and mute is not None and mute.until is None:
        wake.append(now + timedelta(seconds=recheck_s))
    return Plan(tuple(sends), f, min(wake) if wake else None)


def _renotify_due(f: Facts, every_s: float) -> datetime:
    return (f.renotified_at or f.fired_at) + timedelta(seconds=every_s)


def _desk(f: Facts, chain: Chain, now: datetime, sends: list[Send]) -> Facts:
    if f.desk_gen < f.generation:
        sends.append(Send("desk", "flapping" if f.flapping else "firing", f.generation))
        return replace(f, desk_gen=f.generation, renotified_at=now, flap_notified=f.flapping)
    if f.flapping and not f.flap_notified:
        sends.append(Send("desk", "flapping", f.generation))
        return replace(f, flap_notified=True)
    every = chain.renotify_every_s
    if not f.acknowledged and every is not None and now >= _renotify_due(f, every):
        count = f.renotify_count + 1
        sends.append(Send("desk", "renotify", count))
        return replace(f, renotify_count=count, renotified_at=now)
    return f
