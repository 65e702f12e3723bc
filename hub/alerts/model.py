"""Plain values the alert functions share."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

Severity = Literal["info", "warning", "critical"]
SEVERITIES: Final[tuple[Severity, ...]] = ("info", "warning", "critical")
State = Literal["pending", "firing", "acknowledged", "resolved"]

# What silences match on; every alert has all of them ("" where it has no device).
LABEL_NAMES: Final = ("fingerprint", "kind", "severity", "city", "site", "agent_id", "device_id")
Labels = Mapping[str, str]

AGENT_OFFLINE: Final = "agent_offline"
SITE_OFFLINE: Final = "site_offline"
DUTY_CHECKIN_MISSED: Final = "duty_checkin_missed"


def labels_of(
    *, fingerprint: str, kind: str, severity: str, city: str, site: str, agent_id: str, device_id: str | None
) -> dict[str, str]:
    return {
        "fingerprint": fingerprint,
        "kind": kind,
        "severity": severity,
        "city": city,
        "site": site,
        "agent_id": agent_id,
        "device_id": device_id or "",
    }


@dataclass(frozen=True, slots=True)
class FlapPolicy:
    """An alert (re)opened ``openings`` times within ``window_s`` is flapping; it stays flapping (held
    open, not re-notified) until nothing changed for ``calm_s``."""

    window_s: float = 600.0
    openings: int = 3
    calm_s: float = 300.0


@dataclass(frozen=True, slots=True)
class KindPolicy:
    """How one kind of alert behaves: raised for ``for_s`` before it fires (0: at once), and how it flaps."""

    for_s: float = 0.0
    flap: FlapPolicy = FlapPolicy()
