"""Agent liveness: a pure state machine over births, traffic, deaths and the clock.

No I/O and no clock reads: every input carries ``now`` (the hub's receive time of the message, or the
sweeper's time), so the same inputs always give the same answer and the store can replay it inside the
transaction that holds the agent's row lock.

Rules (boot ids are random, so only a birth's ``started_at`` orders sessions):

* birth of a new boot → that boot is the current session, online.  A birth whose ``started_at`` is
  older than the current session's is stale (a late redelivery) and changes nothing.
* heartbeat / state / event of the current boot → refreshes ``last_seen``; if the agent was offline
  (stale or after a will), it is back online.  Traffic from another boot is stored but changes nothing,
  unless no session was ever seen: then that boot is adopted (there is no birth to wait for).
* death of the current boot → offline with the death's reason.  A death of another boot is a late will
  of an old session and is ignored, so it cannot mark a newer session offline (Sparkplug's bdSeq rule).
* sweep → offline ("stale") when the last message of the current session is older than the deadline.
* historical (replayed) messages are stored but never change liveness: they say nothing about now.
  Nor do retained copies the broker hands a new subscription (the agent keeps its birth retained):
  a retained birth may start a session we did not know, but never revives or refreshes the current one.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

OfflineReason = Literal["will", "shutdown", "stale"]
Verdict = Literal["applied", "stale", "foreign_boot", "historical", "retained"]


@dataclass(frozen=True, slots=True)
class AgentLiveness:
    agent_id: str
    boot: str | None = None
    started_at: datetime | None = None
    online: bool = False
    offline_reason: str | None = None
    last_seen: datetime | None = None


@dataclass(frozen=True, slots=True)
class WentOnline:
    agent_id: str
    boot: str
    at: datetime


@dataclass(frozen=True, slots=True)
class WentOffline:
    agent_id: str
    boot: str | None
    at: datetime
    reason: OfflineReason
    last_seen: datetime | None


Transition = WentOnline | WentOffline


@dataclass(frozen=True, slots=True)
class Step:
    """The state after one input, the transitions it caused, and whether the input counted."""

    state: AgentLiveness
    transitions: tuple[Transition, ...] = ()
    verdict: Verdict = "applied"


def _online(state: AgentLiveness, boot: str, now: datetime, started_at: datetime | None) -> Step:
    # Built directly rather than with dataclasses.replace: this runs for every message the hub stores,
    # and replace() was the largest Python cost in a profile of the writer's batch.
    new = AgentLiveness(state.agent_id, boot, started_at, True, None, now)
    went = () if state.online else (WentOnline(state.agent_id, boot, now),)
    return Step(new, went)


def on_birth(state: AgentLiveness, *, boot: str, started_at: datetime, now: datetime, retained: bool = False) -> Step:
    if boot == state.boot and retained:
        return Step(state, verdict="retained")
    if boot == state.boot:
        return _online(state, boot, now, state.started_at or started_at)
    if state.started_at is not None and started_at < state.started_at:
        return Step(state, verdict="stale")
    return _online(state, boot, now, started_at)


def on_traffic(state: AgentLiveness, *, boot: str, historical: bool, now: datetime, retained: bool = False) -> Step:
    if historical:
        return Step(state, verdict="historical")
    if retained:
        return Step(state, verdict="retained")
    if state.boot is None or boot == state.boot:
        return _online(state, boot, now, state.started_at)
    return Step(state, verdict="foreign_boot")


def on_death(state: AgentLiveness, *, boot: str, reason: OfflineReason, now: datetime) -> Step:
    if boot != state.boot:
        return Step(state, verdict="stale")
    new = replace(state, online=False, offline_reason=reason)
    if not state.online:
        return Step(new)
    return Step(new, (WentOffline(state.agent_id, boot, now, reason, state.last_seen),))


def sweep(state: AgentLiveness, *, now: datetime, offline_after_s: float) -> Step:
    if not state.online or state.last_seen is None:
        return Step(state)
    if (now - state.last_seen).total_seconds() <= offline_after_s:
        return Step(state)
    new = replace(state, online=False, offline_reason="stale")
    return Step(new, (WentOffline(state.agent_id, state.boot, now, "stale", state.last_seen),))


def describe(transition: Transition) -> str:
    if isinstance(transition, WentOffline):
        return f"agent {transition.agent_id} offline ({transition.reason})"
    return f"agent {transition.agent_id} online (boot {transition.boot})"
