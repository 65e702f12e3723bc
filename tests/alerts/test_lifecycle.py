"""The alert lifecycle as tables: a sequence of inputs, the effect of each, and the state after."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.alerts.lifecycle import Acknowledge, Clear, Input, Raise, Tick, Tracked, next_tick, step
from hub.alerts.model import FlapPolicy, KindPolicy

T0 = datetime(2014, 5, 17, 8, 0, tzinfo=UTC)
AT_ONCE = KindPolicy(for_s=0.0, flap=FlapPolicy(window_s=600.0, openings=3, calm_s=300.0))
HOLD_5S = KindPolicy(for_s=5.0, flap=AT_ONCE.flap)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def R(s: float, severity: str = "warning") -> Raise:
    return Raise(at(s), severity)


def C(s: float) -> Clear:
    return Clear(at(s))


def K(s: float) -> Tick:
    return Tick(at(s))


def A(s: float) -> Acknowledge:
    return Acknowledge(at(s))


def run(inputs: list[Input], policy: KindPolicy) -> list[tuple[str, str | None]]:
    """(effect, state after) for each input."""
    tracked: Tracked | None = None
    out = []
    for event in inputs:
        s = step(tracked, event, policy)
        tracked = s.tracked
        out.append((s.effect, None if tracked is None else tracked.state))
    return out


CASES = {
    "fires at once, acknowledged, resolved": (
        AT_ONCE,
        [R(0), R(1), A(2), C(3)],
        [("fired", "firing"), ("none", "firing"), ("acknowledged", "acknowledged"), ("resolved", "resolved")],
    ),
    "resolves before anyone acknowledged it; a late acknowledgement changes nothing": (
        AT_ONCE,
        [R(0), C(10), A(11)],
        [("fired", "firing"), ("resolved", "resolved"), ("none", "resolved")],
    ),
    "pending until `for` has passed (tick)": (
        HOLD_5S,
        [R(0), K(4), K(5), C(6)],
        [("pending", "pending"), ("none", "pending"), ("fired", "firing"), ("resolved", "resolved")],
    ),
    "pending until `for` has passed (raised again)": (
        HOLD_5S,
        [R(0), R(3), R(5.5)],
        [("pending", "pending"), ("none", "pending"), ("fired", "firing")],
    ),
    "a pending alert that clears is discarded, never shown": (
        HOLD_5S,
        [R(0), C(2), K(10)],
        [("pending", "pending"), ("discarded", None), ("none", None)],
    ),
    "a clear with nothing raised is nothing": (AT_ONCE, [C(0)], [("none", None)]),
    "reopened within the flap window: same alert, one more occurrence": (
        AT_ONCE,
        [R(0), C(10), R(20)],
        [("fired", "firing"), ("resolved", "resolved"), ("reopened", "firing")],
    ),
    "raised again after the flap window: a new alert": (
        AT_ONCE,
        [R(0), C(10), R(700)],
        [("fired", "firing"), ("resolved", "resolved"), ("fired", "firing")],
    ),
    "the third opening within the window makes it flapping; clears and raises are held": (
        AT_ONCE,
        [R(0), C(10), R(20), C(30), R(40), C(50), R(60), C(70)],
        [
            ("fired", "firing"),
            ("resolved", "resolved"),
            ("reopened", "firing"),
            ("resolved", "resolved"),
            ("flapping", "firing"),
            ("held", "firing"),
            ("held", "firing"),
            ("held", "firing"),
        ],
    ),
    "a flapping alert calms down after calm_s: resolved if clear then": (
        AT_ONCE,
        [R(0), C(10), R(20), C(30), R(40), C(50), K(349), K(350)],
        [
            ("fired", "firing"),
            ("resolved", "resolved"),
            ("reopened", "firing"),
            ("resolved", "resolved"),
            ("flapping", "firing"),
            ("held", "firing"),
            ("none", "firing"),
            ("resolved", "resolved"),
        ],
    ),
    "a flapping alert calms down after calm_s: still firing if raised then": (
        AT_ONCE,
        [R(0), C(10), R(20), C(30), R(40), K(340), C(350)],
        [
            ("fired", "firing"),
            ("resolved", "resolved"),
            ("reopened", "firing"),
            ("resolved", "resolved"),
            ("flapping", "firing"),
            ("calmed", "firing"),
            ("resolved", "resolved"),
        ],
    ),
    "severity only rises while open": (
        AT_ONCE,
        [R(0, "warning"), R(1, "critical"), R(2, "warning")],
        [("fired", "firing"), ("raised_severity", "firing"), ("none", "firing")],
    ),
}


@pytest.mark.parametrize(("policy", "inputs", "expected"), CASES.values(), ids=CASES.keys())
def test_lifecycle(policy: KindPolicy, inputs: list[Input], expected: list[tuple[str, str | None]]):
    assert run(inputs, policy) == expected


def test_occurrences_and_generation_count_openings_not_holds():
    tracked: Tracked | None = None
    for event in [R(0), C(10), R(20), C(30), R(40), C(50), R(60)]:
        tracked = step(tracked, event, AT_ONCE).tracked
    assert tracked is not None
    # four raises, but only three openings the desk hears about; the last raise was a hold
    assert (tracked.occurrences, tracked.generation, tracked.flapping, tracked.active) == (4, 3, True, True)


def test_reopening_clears_the_acknowledgement():
    tracked: Tracked | None = None
    for event in [R(0), A(1), C(2)]:
        tracked = step(tracked, event, AT_ONCE).tracked
    reopened = step(tracked, R(3), AT_ONCE).tracked
    assert reopened is not None
    assert reopened.state == "firing"


def test_next_tick():
    pending = step(None, R(0), HOLD_5S).tracked
    assert pending is not None
    assert next_tick(pending, HOLD_5S) == at(5)
    tracked: Tracked | None = None
    for event in [R(0), C(10), R(20), C(30), R(40)]:
        tracked = step(tracked, event, AT_ONCE).tracked
    assert tracked is not None
    assert next_tick(tracked, AT_ONCE) == at(340)
