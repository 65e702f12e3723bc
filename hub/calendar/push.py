"""Push each agent its site's slice of the plan in force, retained on its ``calendar`` topic.

The mechanism (on import, on a new boot, after hub start; paused while the database is down) is
:class:`hub.agent_push.RetainedPusher`'s.  An agent whose site left the plan gets an empty slice: "no
sessions", which it can tell from "never received".  An agent is sent a plan again only when its content
changed (its version is a hash of it), not on a re-import of the same file.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from hub.agent_push import AgentsIO, KnownAgent, Publish, RetainedPusher
from hub.calendar.errors import CalendarError
from hub.calendar.load import parse_calendar
from protocol.messages import AgentCalendar
from protocol.plan import Calendar, calendar_to_wire

__all__ = ["CalendarPusher", "KnownAgent", "Publish", "PushIO"]

log = logging.getLogger("sitewatch.hub.calendar")


class PushIO(AgentsIO, Protocol):
    def calendar_version(self) -> int | None: ...

    def latest_calendar(self) -> tuple[int, str] | None: ...


class CalendarPusher(RetainedPusher[Calendar, PushIO]):
    label = "calendar"
    log = log

    def stored_version(self) -> int | None:
        return self._io.calendar_version()

    def load(self) -> tuple[int, Calendar | None] | None:
        latest = self._io.latest_calendar()
        if latest is None:
            return None
        try:
            return latest[0], parse_calendar(latest[1], f"calendar version {latest[0]}")
        except CalendarError as exc:
            log.error("calendar version %d cannot be read; pushing the one before: %s", latest[0], exc)  # noqa: TRY400
            return latest[0], None

    def to_wire(self, current: Calendar, site: str, now: datetime) -> AgentCalendar:
        return calendar_to_wire(current, site, now)

    def describe(self, current: Calendar) -> str:
        return f"calendar {current.version}"
