"""Beijing time as the calendar's fixed UTC+8 offset is the tz database's Asia/Shanghai on every day of the
years a deployment can meet (the agent avoids zoneinfo for memory; the hub's duty rota uses zoneinfo)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from protocol.plan import EXAM_TZ


def test_the_fixed_offset_is_asia_shanghai_every_day() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    at = datetime(2020, 1, 1, tzinfo=UTC)
    while at.year < 2041:
        assert at.astimezone(EXAM_TZ).utcoffset() == at.astimezone(shanghai).utcoffset(), at
        assert at.astimezone(EXAM_TZ).date() == at.astimezone(shanghai).date(), at
        at += timedelta(hours=7)


def test_the_comparison_would_see_a_zone_that_differs() -> None:
    # The same check against a zone with summer time, or another offset, fails: it is not vacuous.
    for other in (ZoneInfo("Europe/Berlin"), ZoneInfo("Asia/Tokyo")):
        days = [datetime(2026, month, 1, tzinfo=UTC) for month in range(1, 13)]
        assert any(d.astimezone(EXAM_TZ).utcoffset() != d.astimezone(other).utcoffset() for d in days)
