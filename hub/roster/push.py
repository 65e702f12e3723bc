"""Push each agent the exam's key and its site's rosters, retained on its ``roster`` topic.

Once a ``tick``: when a roster was imported, every known agent gets the latest imported exam's key and
its site's rooms (an empty list when the site has no candidates); an agent born again since it was last
sent one (new boot), or never sent one by this hub (a new agent, any agent after this hub started), gets
it again.  The pattern is :mod:`hub.calendar.push`'s.  The log names the exam and the key's id, never
the key.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from hub.calendar.push import KnownAgent
from hub.errors import StoreError, StoreUnavailable
from hub.store.roster import CurrentRoster
from protocol.codec import describe_validation_error, encode
from protocol.messages import AgentRoster, RoomRoster, key_id

log = logging.getLogger("sitewatch.hub.roster")

# (agent id, retained payload) → True once the broker has it queued.
Publish = Callable[[str, bytes], bool]


class RosterIO(Protocol):
    def roster_version(self) -> int | None: ...

    def current_roster(self) -> CurrentRoster | None: ...

    def known_agents(self) -> list[KnownAgent]: ...


def roster_to_wire(roster: CurrentRoster, site: str, now: datetime) -> AgentRoster:
    rooms = roster.rooms.get(site, {})
    return AgentRoster(
        exam=roster.exam,
        site=site,
        key_id=key_id(roster.key),
        key=base64.b64encode(roster.key).decode("ascii"),
        ts=now,
        rooms=[RoomRoster(room=room, candidates=candidates) for room, candidates in sorted(rooms.items())],
    )


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RosterPusher:
    def __init__(
        self,
        io: RosterIO,
        publish: Publish,
        *,
        tick: timedelta = timedelta(seconds=1),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._io = io
        self._publish = publish
        self._tick = tick
        self._clock = clock
        self._roster: CurrentRoster | None = None
        # agent id → (roster version, boot) last pushed to it.
        self._sent: dict[str, tuple[int, str | None]] = {}
        self._failing = False
        self.published = 0

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._tick.total_seconds()):
            self.tick_safely()

    def tick_safely(self) -> None:
        try:
            self.tick()
        except StoreUnavailable as exc:
            if not self._failing:
                log.warning("roster push paused, database unavailable: %s", exc)
                self._failing = True
            return
        except StoreError:
            log.exception("roster push failed")
            return
        if self._failing:
            log.info("roster push resumed")
            self._failing = False

    def tick(self) -> None:
        roster = self._current()
        if roster is None:
            return  # nothing imported yet
        now = self._clock()
        for agent in self._io.known_agents():
            sent = (roster.version, agent.boot)
            if self._sent.get(agent.agent_id) == sent:
                continue
            try:
                payload = encode(roster_to_wire(roster, agent.site, now))
            except ValidationError as exc:
                # Not str(exc): pydantic quotes the input there, and the input holds the key.
                reasons = describe_validation_error(exc)
                log.error("roster for %s cannot be built: %s", agent.agent_id, reasons)  # noqa: TRY400
                self._sent[agent.agent_id] = sent  # the same roster would fail again; wait for a new one
                continue
            if self._publish(agent.agent_id, payload):
                self._sent[agent.agent_id] = sent
                self.published += 1
                log.info("roster of exam %s (key %s) pushed to %s", roster.exam, key_id(roster.key), agent.agent_id)

    def _current(self) -> CurrentRoster | None:
        stored = self._io.roster_version()
        if stored is None or (self._roster is not None and stored == self._roster.version):
            return self._roster
        self._roster = self._io.current_roster() or self._roster
        return self._roster
