"""Push each agent the exam's key and its site's rosters, retained on its ``roster`` topic.

The mechanism (on import, on a new boot, after hub start; paused while the database is down) is
:class:`hub.agent_push.RetainedPusher`'s.  Every known agent gets the latest imported exam's key and its
site's rooms (an empty list when the site has no candidates).  The log names the exam and the key's id,
never the key.
"""

from __future__ import annotations

import base64
import logging
from datetime import datetime
from typing import Protocol

from hub.agent_push import AgentsIO, Publish, RetainedPusher
from hub.store.roster import CurrentRoster
from protocol.messages import AgentRoster, RoomRoster, key_id
from protocol.validation import checked

__all__ = ["Publish", "RosterIO", "RosterPusher", "roster_to_wire"]

log = logging.getLogger("sitewatch.hub.roster")


class RosterIO(AgentsIO, Protocol):
    def roster_version(self) -> int | None: ...

    def current_roster(self) -> CurrentRoster | None: ...


def roster_to_wire(roster: CurrentRoster, site: str, now: datetime) -> AgentRoster:
    """``site``'s roster message, checked as the agent will check it: raises ValueError (a
    :class:`msgspec.ValidationError` naming the field, never quoting the key) when it does not fit."""
    rooms = roster.rooms.get(site, {})
    return checked(
        AgentRoster(
            exam=roster.exam,
            site=site,
            key_id=key_id(roster.key),
            key=base64.b64encode(roster.key).decode("ascii"),
            ts=now,
            rooms=[RoomRoster(room=room, candidates=candidates) for room, candidates in sorted(rooms.items())],
        )
    )


class RosterPusher(RetainedPusher[CurrentRoster, RosterIO]):
    label = "roster"
    log = log

    def stored_version(self) -> int | None:
        return self._io.roster_version()

    def load(self) -> tuple[int, CurrentRoster | None] | None:
        roster = self._io.current_roster()
        return None if roster is None else (roster.version, roster)

    def to_wire(self, current: CurrentRoster, site: str, now: datetime) -> AgentRoster:
        return roster_to_wire(current, site, now)

    def describe(self, current: CurrentRoster) -> str:
        return f"roster of exam {current.exam} (key {key_id(current.key)})"
