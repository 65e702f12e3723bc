"""Silences and inhibitions as tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub.alerts.model import labels_of
from hub.alerts.mute import Inhibitor, Silence, check_matchers, inhibited_by, mute

T0 = datetime(2014, 5, 17, 8, 0, tzinfo=UTC)


def labels(
    kind: str, agent: str = "jinan/s01/a1", device: str | None = None, severity: str = "warning"
) -> dict[str, str]:
    city, site, _ = agent.split("/")
    return labels_of(
        fingerprint=f"{kind}:{agent}:{device}",
        kind=kind,
        severity=severity,
        city=city,
        site=site,
        agent_id=agent,
        device_id=device,
    )


def silence(matchers: dict[str, str], start_s: float = 0, end_s: float = 600, id_: int = 1) -> Silence:
    return Silence(id_, matchers, T0 + timedelta(seconds=start_s), T0 + timedelta(seconds=end_s), "gen-city-x", "drill")


AGENT_DOWN = Inhibitor("agent_offline", "jinan", "s01", "jinan/s01/a1")
SITE_DOWN = Inhibitor("site_offline", "jinan", "s01", "jinan/s01/a1")

INHIBITION = {
    "an offline agent inhibits its device's alert": (labels("jammer_off", device="jammer-101"), [AGENT_DOWN], True),
    "... not an agent-level alert of its own": (labels("clock_skew"), [AGENT_DOWN], False),
    "... not its own offline alert": (labels("agent_offline"), [AGENT_DOWN], False),
    "... not another agent's devices": (labels("jammer_off", "jinan/s01/a2", "jammer-101"), [AGENT_DOWN], False),
    "an offline site inhibits its agents' offline alerts": (labels("agent_offline", "jinan/s01/a2"), [SITE_DOWN], True),
    "... and their devices'": (labels("reader_missing", "jinan/s01/a2", "reader-101"), [SITE_DOWN], True),
    "... not itself": (labels("site_offline"), [SITE_DOWN], False),
    "... not another site's": (labels("agent_offline", "jinan/s02/a1"), [SITE_DOWN], False),
    "nothing offline, nothing inhibited": (labels("jammer_off", device="jammer-101"), [], False),
}


@pytest.mark.parametrize(("alert", "inhibitors", "muted"), INHIBITION.values(), ids=INHIBITION.keys())
def test_inhibition(alert: dict[str, str], inhibitors: list[Inhibitor], muted: bool):
    assert (inhibited_by(alert, inhibitors) is not None) == muted


SILENCES = {
    "matches every label given": ({"city": "jinan", "kind": "jammer_off"}, 10, True),
    "one label differs: no match": ({"city": "jinan", "kind": "reader_missing"}, 10, False),
    "before it starts": ({"city": "jinan"}, -1, False),
    "at its end it has expired": ({"city": "jinan"}, 600, False),
    "just before its end": ({"city": "jinan"}, 599.9, True),
    "an empty silence matches nothing": ({}, 10, False),
}


@pytest.mark.parametrize(("matchers", "at_s", "muted"), SILENCES.values(), ids=SILENCES.keys())
def test_silence_matching_and_expiry(matchers: dict[str, str], at_s: float, muted: bool):
    alert = labels("jammer_off", device="jammer-101")
    got = mute(alert, silences=[silence(matchers)], inhibitors=[], now=T0 + timedelta(seconds=at_s))
    assert (got is not None) == muted
    if got is not None:
        assert (got.reason, got.until, got.by) == ("silence", T0 + timedelta(seconds=600), "gen-city-x")


def test_inhibition_wins_over_silence_and_the_longest_silence_counts():
    alert = labels("jammer_off", device="jammer-101")
    both = mute(alert, silences=[silence({"city": "jinan"})], inhibitors=[AGENT_DOWN], now=T0)
    assert both is not None
    assert both.reason == "inhibition"
    assert both.until is None
    longer = mute(
        alert, silences=[silence({"city": "jinan"}), silence({"site": "s01"}, end_s=900, id_=2)], inhibitors=[], now=T0
    )
    assert longer is not None
    assert longer.until == T0 + timedelta(seconds=900)


def test_the_dashboards_per_alert_silence():
    alert = labels("jammer_off", device="jammer-101")
    until = T0 + timedelta(minutes=30)
    got = mute(alert, silences=[], inhibitors=[], now=T0, alert_silenced_until=until, alert_silenced_by="gen-x")
    assert got is not None
    assert (got.until, got.by) == (until, "gen-x")
    assert mute(alert, silences=[], inhibitors=[], now=until, alert_silenced_until=until) is None


def test_matchers_are_checked():
    assert check_matchers({}) is not None
    assert check_matchers({"room": "101"}) is not None
    assert check_matchers({"city": "jinan", "device_id": "jammer-101"}) is None
