"""The liveness state machine, driven by tables of inputs: births, traffic, deaths and sweeps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from hub import liveness
from hub.liveness import AgentLiveness, Step, WentOffline, WentOnline

T0 = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)
A = "jinan/s01/a1"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Birth:
    boot: str
    started: float
    now: float
    retained: bool = False


@dataclass(frozen=True)
class Traffic:
    boot: str
    now: float
    historical: bool = False
    retained: bool = False


@dataclass(frozen=True)
class Death:
    boot: str
    now: float
    reason: liveness.OfflineReason = "will"


@dataclass(frozen=True)
class Sweep:
    now: float


Input = Birth | Traffic | Death | Sweep


def feed(inputs: list[Input], state: AgentLiveness | None = None) -> tuple[AgentLiveness, list[Step]]:
    state = state or AgentLiveness(A)
    steps = []
    for i in inputs:
        match i:
            case Birth():
                step = liveness.on_birth(
                    state, boot=i.boot, started_at=at(i.started), now=at(i.now), retained=i.retained
                )
            case Traffic():
                step = liveness.on_traffic(
                    state, boot=i.boot, historical=i.historical, now=at(i.now), retained=i.retained
                )
            case Death():
                step = liveness.on_death(state, boot=i.boot, reason=i.reason, now=at(i.now))
            case Sweep():
                step = liveness.sweep(state, now=at(i.now), offline_after_s=12.0)
        steps.append(step)
        state = step.state
    return state, steps


def kinds(steps: list[Step]) -> list[str]:
    """Transitions as short words: "on", "off:stale", …; verdicts other than applied in brackets."""
    out: list[str] = []
    for step in steps:
        for t in step.transitions:
            out.append("on" if isinstance(t, WentOnline) else f"off:{t.reason}")
        if step.verdict != "applied":
            out.append(f"[{step.verdict}]")
    return out


CASES = [
    pytest.param([Birth("b1", 0, 0)], ("b1", True, None), ["on"], id="birth-goes-online"),
    pytest.param([Birth("b1", 0, 0), Traffic("b1", 5)], ("b1", True, None), ["on"], id="heartbeat-keeps-online"),
    pytest.param([Birth("b1", 0, 0), Sweep(12)], ("b1", True, None), ["on"], id="sweep-at-deadline-keeps"),
    pytest.param(
        [Birth("b1", 0, 0), Sweep(12.5)], ("b1", False, "stale"), ["on", "off:stale"], id="sweep-past-deadline"
    ),
    pytest.param(
        [Birth("b1", 0, 0), Traffic("b1", 10), Sweep(20)], ("b1", True, None), ["on"], id="heartbeat-moves-deadline"
    ),
    pytest.param(
        [Birth("b1", 0, 0), Sweep(13), Sweep(14)],
        ("b1", False, "stale"),
        ["on", "off:stale"],
        id="second-sweep-is-silent",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Sweep(13), Traffic("b1", 14)],
        ("b1", True, None),
        ["on", "off:stale", "on"],
        id="heartbeat-after-stale-revives",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Death("b1", 3)], ("b1", False, "will"), ["on", "off:will"], id="will-of-current-boot"
    ),
    pytest.param(
        [Birth("b1", 0, 0), Death("b1", 3, "shutdown")],
        ("b1", False, "shutdown"),
        ["on", "off:shutdown"],
        id="clean-shutdown",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Death("b1", 3), Sweep(30)],
        ("b1", False, "will"),
        ["on", "off:will"],
        id="no-stale-after-will",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Sweep(13), Death("b1", 20)],
        ("b1", False, "will"),
        ["on", "off:stale"],
        id="will-after-stale-updates-reason-only",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Death("b1", 3), Birth("b2", 10, 10)],
        ("b2", True, None),
        ["on", "off:will", "on"],
        id="new-boot-after-will",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Birth("b2", 10, 10), Death("b1", 11)],
        ("b2", True, None),
        ["on", "[stale]"],
        id="late-will-of-old-boot-ignored",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Sweep(13), Birth("b2", 20, 20), Death("b1", 21)],
        ("b2", True, None),
        ["on", "off:stale", "on", "[stale]"],
        id="late-will-after-stale-and-rebirth",
    ),
    pytest.param(
        [Birth("b2", 10, 10), Birth("b1", 0, 11)],
        ("b2", True, None),
        ["on", "[stale]"],
        id="late-birth-of-old-boot-ignored",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Birth("b1", 0, 1)], ("b1", True, None), ["on"], id="redelivered-birth-is-harmless"
    ),
    pytest.param(
        [Birth("b2", 10, 10), Traffic("b1", 11)],
        ("b2", True, None),
        ["on", "[foreign_boot]"],
        id="traffic-of-other-boot-ignored",
    ),
    pytest.param(
        [Birth("b2", 10, 10), Sweep(23), Traffic("b1", 24)],
        ("b2", False, "stale"),
        ["on", "off:stale", "[foreign_boot]"],
        id="other-boot-does-not-revive",
    ),
    pytest.param([Traffic("b1", 0)], ("b1", True, None), ["on"], id="traffic-without-any-birth-adopts"),
    pytest.param(
        [Traffic("b1", 0), Birth("b1", -100, 1)], ("b1", True, None), ["on"], id="adopted-boot-then-its-birth"
    ),
    pytest.param(
        [Traffic("b1", 0), Birth("b2", -100, 1)], ("b2", True, None), ["on"], id="adopted-boot-any-birth-wins"
    ),
    pytest.param([Traffic("b1", 0, historical=True)], (None, False, None), ["[historical]"], id="historical-only"),
    pytest.param(
        [Birth("b1", 0, 0), Sweep(13), Traffic("b1", 14, historical=True)],
        ("b1", False, "stale"),
        ["on", "off:stale", "[historical]"],
        id="historical-does-not-revive",
    ),
    pytest.param([Death("b1", 0)], (None, False, None), ["[stale]"], id="death-before-anything"),
    pytest.param(
        [Birth("b1", 0, 0), Death("b1", 3), Birth("b1", 0, 20, retained=True)],
        ("b1", False, "will"),
        ["on", "off:will", "[retained]"],
        id="retained-birth-does-not-revive",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Birth("b1", 0, 10, retained=True), Sweep(12.5)],
        ("b1", False, "stale"),
        ["on", "[retained]", "off:stale"],
        id="retained-birth-does-not-refresh",
    ),
    pytest.param(
        [Birth("b1", 0, 0, retained=True)], ("b1", True, None), ["on"], id="retained-birth-of-unknown-boot-starts"
    ),
    pytest.param(
        [Birth("b1", 0, 0), Death("b1", 3), Birth("b2", 5, 20, retained=True)],
        ("b2", True, None),
        ["on", "off:will", "on"],
        id="retained-birth-of-newer-boot-starts",
    ),
    pytest.param(
        [Birth("b1", 0, 0), Sweep(13), Traffic("b1", 14, retained=True)],
        ("b1", False, "stale"),
        ["on", "off:stale", "[retained]"],
        id="retained-traffic-does-not-revive",
    ),
]


@pytest.mark.parametrize(("inputs", "expected", "transitions"), CASES)
def test_liveness_table(inputs: list[Input], expected: tuple[str | None, bool, str | None], transitions: list[str]):
    state, steps = feed(inputs)
    assert (state.boot, state.online, state.offline_reason) == expected
    assert kinds(steps) == transitions


def test_last_seen_is_the_receive_time_of_current_boot_traffic():
    state, _ = feed([Birth("b1", 0, 0), Traffic("b1", 4), Traffic("b0", 9)])
    assert state.last_seen == at(4)


def test_went_offline_carries_what_the_alert_needs():
    _, steps = feed([Birth("b1", 0, 0), Traffic("b1", 2), Sweep(15)])
    (transition,) = steps[-1].transitions
    assert transition == WentOffline(A, "b1", at(15), "stale", at(2))


def test_started_at_orders_sessions_not_arrival():
    # b3 started after b2, but its birth arrives first: the older b2 birth must not take over.
    state, steps = feed([Birth("b3", 30, 31), Birth("b2", 20, 32)])
    assert state.boot == "b3"
    assert steps[-1].verdict == "stale"


def test_describe_names_agent_and_reason():
    assert liveness.describe(WentOffline(A, "b1", T0, "will", None)) == f"agent {A} offline (will)"
    assert liveness.describe(WentOnline(A, "b1", T0)) == f"agent {A} online (boot b1)"
