"""Whether an alert's notifications are muted: silences and inhibitions behind one :func:`mute`.

* A **silence** matches alerts by labels (every matcher equal), is time-boxed (``starts_at`` ≤ now <
  ``ends_at``), and names its author and reason.  The dashboard's per-alert silence is a silence matching
  that alert's fingerprint.  A silence quiets the desk's notifiers; it does not stop escalation to the
  province, which only an acknowledgement does (rule O3: silence is not action).
* An **inhibition** mutes alerts whose cause is already reported by another open alert: an offline agent
  inhibits its devices' alerts, an offline site inhibits every other alert of that site (its agents and,
  through them, their devices).  An inhibited alert goes nowhere: the inhibiting one carries the news.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from hub.alerts.model import AGENT_OFFLINE, LABEL_NAMES, SITE_OFFLINE, Labels


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matchers: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Labels) -> bool:
        return bool(self.matchers) and all(labels.get(k) == v for k, v in self.matchers.items())


def check_matchers(matchers: Mapping[str, str]) -> str | None:
    """None when the matchers are usable, else the reason (an empty silence would mute everything)."""
    if not matchers:
        return "a silence needs at least one matcher"
    unknown = sorted(set(matchers) - set(LABEL_NAMES))
    if unknown:
        return f"unknown label(s): {', '.join(unknown)} (known: {', '.join(LABEL_NAMES)})"
    return None


@dataclass(frozen=True, slots=True)
class Inhibitor:
    """An open alert that may inhibit others: ``agent_offline`` or ``site_offline``."""

    kind: str
    city: str
    site: str
    agent_id: str


@dataclass(frozen=True, slots=True)
class Mute:
    reason: Literal["silence", "inhibition"]
    # silence: when it ends (the alert is looked at again then); inhibition: None (until the inhibitor goes)
    until: datetime | None
    by: str = ""
    detail: dict[str, str] = field(default_factory=dict)


def inhibited_by(labels: Labels, inhibitors: Iterable[Inhibitor]) -> Inhibitor | None:
    kind, city, site, agent = labels.get("kind"), labels.get("city"), labels.get("site"), labels.get("agent_id")
    device = labels.get("device_id") or ""
    for inh in inhibitors:
        if inh.kind == SITE_OFFLINE and kind != SITE_OFFLINE and (inh.city, inh.site) == (city, site):
            return inh
        if inh.kind == AGENT_OFFLINE and device and inh.agent_id == agent:
            return inh
    return None


def silenced_by(labels: Labels, silences: Iterable[Silence], now: datetime) -> Silence | None:
    """The matching active silence that lasts longest, if any."""
    best: Silence | None = None
    for s in silences:
        if s.active(now) and s.matches(labels) and (best is None or s.ends_at > best.ends_at):
            best = s
    return best


def mute(
    labels: Labels,
    *,
    silences: Iterable[Silence],
    inhibitors: Iterable[Inhibitor],
    now: datetime,
    alert_silenced_until: datetime | None = None,
    alert_silenced_by: str = "",
) -> Mute | None:
    inh = inhibited_by(labels, inhibitors)
    if inh is not None:
        return Mute("inhibition", None, detail={"kind": inh.kind, "agent_id": inh.agent_id, "site": inh.site})
    found = silenced_by(labels, silences, now)
    per_alert = alert_silenced_until is not None and alert_silenced_until > now
    if found is None and not per_alert:
        return None
    if found is not None and (
        not per_alert or (alert_silenced_until is not None and found.ends_at >= alert_silenced_until)
    ):
        return Mute("silence", found.ends_at, found.created_by, {"silence": str(found.id), "reason": found.reason})
    return Mute("silence", alert_silenced_until, alert_silenced_by, {"silence": "alert"})
