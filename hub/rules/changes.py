"""What the rules engine asks the store to do with alerts: open, close, or raise a severity in place.

Plain values, so the rules stay I/O-free and the store applies a tick's changes in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from protocol.messages import Scalar, Severity

RANK: Final[dict[Severity, int]] = {"info": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class OpenAlert:
    fingerprint: str
    kind: str
    severity: Severity
    agent_id: str
    summary: str
    at: datetime
    device_id: str | None = None
    details: Mapping[str, Scalar] = field(default_factory=dict)


# The detail naming why an alert was closed other than by its condition clearing; the dashboard words it as
# ``alert_closed.<value>`` (hub/i18n).
CLOSED_BECAUSE: Final = "closed_because"


@dataclass(frozen=True, slots=True)
class CloseAlert:
    fingerprint: str
    at: datetime
    # Added to the alert's details when it closes: why, when it was not its condition clearing.
    details: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RaiseSeverity:
    """The open alert ``fingerprint`` becomes ``severity`` (only ever upwards), with the new wording."""

    fingerprint: str
    severity: Severity
    summary: str
    details: Mapping[str, Scalar] = field(default_factory=dict)


AlertChange = OpenAlert | CloseAlert | RaiseSeverity


def higher(a: Severity, b: Severity) -> bool:
    return RANK[a] > RANK[b]
