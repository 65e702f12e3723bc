"""A fixed clock for the alert tests: exam day, midnight UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

T0 = datetime(2014, 5, 17, 0, 0, tzinfo=UTC)


def at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)
