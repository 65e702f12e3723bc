"""The escalation plan as tables: facts + chain + mute + time → what is sent, and when to look again."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from hub.alerts.escalation import Chain, Facts, Send, plan
from hub.alerts.mute import Mute

T0 = datetime(2014, 5, 17, 8, 0, tzinfo=UTC)
CRITICAL = Chain(province_after_s=0.0, renotify_every_s=300.0)
WARNING = Chain(province_after_s=900.0, renotify_every_s=600.0)
INFO = Chain()


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


NEW = Facts(severity="warning", fired_at=T0, generation=1)
SILENCED = Mute("silence", at(1200), "gen-city-x")
INHIBITED = Mute("inhibition", None)


def sends(*items: tuple[str, str, int]) -> tuple[Send, ...]:
    return tuple(Send(c, e, n) for c, e, n in items)  # type: ignore[arg-type]


CASES = {
    "critical: the desk and the province at once": (
        replace(NEW, severity="critical"),
        CRITICAL,
        None,
        0,
        sends(("desk", "firing", 1), ("province", "escalated", 1)),
        at(300),
    ),
    "warning: the desk at once, the province not yet": (
        NEW,
        WARNING,
        None,
        0,
        sends(("desk", "firing", 1)),
        at(600),
    ),
    "warning unacknowledged for province_after_s: escalated": (
        replace(NEW, desk_gen=1, renotified_at=T0),
        WARNING,
        None,
        900,
        sends(("desk", "renotify", 1), ("province", "escalated", 1)),
        at(1500),
    ),
    "warning acknowledged in time: never escalated, no re-notification": (
        replace(NEW, desk_gen=1, renotified_at=T0, acknowledged=True),
        WARNING,
        None,
        900,
        (),
        None,
    ),
    "re-notified every renotify_every_s until acknowledged": (
        replace(NEW, desk_gen=1, renotified_at=at(600), renotify_count=1, province_gen=1),
        WARNING,
        None,
        1200,
        sends(("desk", "renotify", 2)),
        at(1800),
    ),
    "info: the desk only, once": (replace(NEW, severity="info"), INFO, None, 0, sends(("desk", "firing", 1)), None),
    "resolved before anyone acknowledged: whoever was told hears it": (
        replace(NEW, desk_gen=1, province_gen=1, closed=True),
        WARNING,
        None,
        950,
        sends(("desk", "resolved", 1), ("province", "resolved", 1)),
        None,
    ),
    "resolved before the province was told: only the desk hears": (
        replace(NEW, desk_gen=1, closed=True),
        WARNING,
        None,
        60,
        sends(("desk", "resolved", 1)),
        None,
    ),
    "resolved while pending-silenced (nobody told): nothing to say": (
        replace(NEW, closed=True),
        WARNING,
        None,
        60,
        (),
        None,
    ),
    "resolution sent once": (replace(NEW, desk_gen=1, closed=True, resolved_gen=1), WARNING, None, 60, (), None),
    "silenced: the desk is not told, the silence's end is the next look": (NEW, WARNING, SILENCED, 0, (), at(900)),
    "silenced does not stop the province (only acknowledging does)": (
        replace(NEW, severity="critical"),
        CRITICAL,
        SILENCED,
        0,
        sends(("province", "escalated", 1)),
        at(1200),
    ),
    "after the silence expired the desk is told (and the province: unacknowledged too long)": (
        NEW,
        WARNING,
        None,
        1200,
        sends(("desk", "firing", 1), ("province", "escalated", 1)),
        at(1800),
    ),
    "inhibited: nobody is told, look again soon": (
        replace(NEW, severity="critical"),
        CRITICAL,
        INHIBITED,
        0,
        (),
        at(5),
    ),
    "reopened (generation 2): told again": (
        replace(NEW, generation=2, desk_gen=1, province_gen=1, resolved_gen=1, fired_at=at(100)),
        WARNING,
        None,
        100,
        sends(("desk", "firing", 2)),
        at(700),
    ),
    "reopened into flapping: told once that it flaps": (
        replace(NEW, generation=3, desk_gen=2, resolved_gen=2, flapping=True),
        WARNING,
        None,
        100,
        sends(("desk", "flapping", 3)),
        at(700),
    ),
    "flapping, already told: held changes say nothing": (
        replace(NEW, generation=3, desk_gen=3, flapping=True, flap_notified=True, renotified_at=at(100)),
        WARNING,
        None,
        200,
        (),
        at(700),
    ),
    "acknowledged here after the province heard: the province is told": (
        replace(NEW, desk_gen=1, province_gen=1, acknowledged=True),
        WARNING,
        None,
        1000,
        sends(("province", "acknowledged", 1)),
        None,
    ),
    "acknowledged by the province: not sent back": (
        replace(NEW, desk_gen=1, province_gen=1, acknowledged=True, ack_remote=True),
        WARNING,
        None,
        1000,
        (),
        None,
    ),
    "province side: a mirrored alert acknowledged here goes back to its city": (
        replace(NEW, mirrored=True, desk_gen=1, acknowledged=True),
        WARNING,
        None,
        10,
        sends(("origin", "acknowledged", 1)),
        None,
    ),
    "province side: a mirrored alert is never escalated further": (
        replace(NEW, severity="critical", mirrored=True),
        CRITICAL,
        None,
        0,
        sends(("desk", "firing", 1)),
        at(300),
    ),
}


@pytest.mark.parametrize(("facts", "chain", "muted", "now_s", "expected", "next_at"), CASES.values(), ids=CASES.keys())
def test_plan(
    facts: Facts, chain: Chain, muted: Mute | None, now_s: float, expected: tuple[Send, ...], next_at: datetime | None
):
    p = plan(facts, chain, muted, at(now_s), has_province=True, recheck_s=5.0)
    assert p.sends == expected
    assert p.next_at == next_at


def test_a_plan_applied_twice_sends_nothing_more():
    first = plan(replace(NEW, severity="critical"), CRITICAL, None, T0, has_province=True)
    again = plan(first.facts, CRITICAL, None, at(1), has_province=True)
    assert first.sends
    assert again.sends == ()


def test_without_a_province_nothing_is_escalated():
    p = plan(replace(NEW, severity="critical"), CRITICAL, None, T0, has_province=False)
    assert p.sends == sends(("desk", "firing", 1))
