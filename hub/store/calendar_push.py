"""What the calendar pusher (:mod:`hub.calendar.push`) reads: the plan in force and every known agent."""

from __future__ import annotations

from hub.agent_push import KnownAgent
from hub.store import calendar as plan
from hub.store.connection import Connection, mapped_errors
from hub.store.handle import Database


def known_agents(conn: Connection) -> list[KnownAgent]:
    with mapped_errors("reading the agents failed"):
        rows = conn.execute("SELECT agent_id, city || '/' || site, boot FROM agents ORDER BY agent_id").fetchall()
    return [KnownAgent(str(agent), str(site), None if boot is None else str(boot)) for agent, site, boot in rows]


class CalendarPushDatabase(Database):
    """The pusher's own connection (see :class:`hub.calendar.push.PushIO`)."""

    def calendar_version(self) -> int | None:
        return self._run(plan.calendar_version)

    def latest_calendar(self) -> tuple[int, str] | None:
        return self._run(plan.latest_calendar)

    def known_agents(self) -> list[KnownAgent]:
        return self._run(known_agents)
