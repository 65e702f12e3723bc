"""Push each agent its site's slice of the plan in force, retained on its ``calendar`` topic.

Once a ``tick``: if the imported calendar changed, every known agent gets its site's new slice (an agent
whose site left the plan gets an empty one: "no sessions", which it can tell from "never received"); an
agent that was born again since it was last sent one (new boot) gets it again too, as does one the hub has
never sent one to (a new agent, or any agent after this hub started).  Retained delivery already covers an
agent that merely reconnects; re-sending on a birth makes sure a replaced agent holds the current plan.

Several hubs may push the same plan: a retained publish of the same slice again is harmless.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pydantic import ValidationError

from hub.calendar.errors import CalendarError
from hub.calendar.load import parse_calendar
from hub.errors import StoreError, StoreUnavailable
from protocol.codec import encode
from protocol.plan import Calendar, calendar_to_wire

log = logging.getLogger("sitewatch.hub.calendar")

# (agent id, retained payload) → True once the broker has it queued.
Publish = Callable[[str, bytes], bool]


@dataclass(frozen=True, slots=True)
class KnownAgent:
    agent_id: str
    site: str  # <city>/<site>
    boot: str | None


class PushIO(Protocol):
    def calendar_version(self) -> int | None: ...

    def latest_calendar(self) -> tuple[int, str] | None: ...

    def known_agents(self) -> list[KnownAgent]: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class CalendarPusher:
    def __init__(
        self,
        io: PushIO,
        publish: Publish,
        *,
        tick: timedelta = timedelta(seconds=1),
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._io = io
        self._publish = publish
        self._tick = tick
        self._clock = clock
        self._stored: int | None = None
        self._plan: Calendar | None = None
        # agent id → (plan version, boot) last pushed to it.
        self._sent: dict[str, tuple[str, str | None]] = {}
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
                log.warning("calendar push paused, database unavailable: %s", exc)
                self._failing = True
            return
        except StoreError:
            log.exception("calendar push failed")
            return
        if self._failing:
            log.info("calendar push resumed")
            self._failing = False

    def tick(self) -> None:
        plan = self._current()
        if plan is None:
            return  # nothing imported yet: agents keep "never received"
        now = self._clock()
        for agent in self._io.known_agents():
            key = (plan.version, agent.boot)
            if self._sent.get(agent.agent_id) == key:
                continue
            try:
                payload = encode(calendar_to_wire(plan, agent.site, now))
            except ValidationError as exc:
                log.error("calendar for %s cannot be built: %s", agent.agent_id, exc)  # noqa: TRY400  # the reasons are the message
                self._sent[agent.agent_id] = key  # the same plan would fail again; wait for a new one
                continue
            if self._publish(agent.agent_id, payload):
                self._sent[agent.agent_id] = key
                self.published += 1
                log.info("calendar %s pushed to %s", plan.version, agent.agent_id)

    def _current(self) -> Calendar | None:
        stored = self._io.calendar_version()
        if stored is None or stored == self._stored:
            return self._plan
        latest = self._io.latest_calendar()
        if latest is None:
            return self._plan
        self._stored = latest[0]
        try:
            self._plan = parse_calendar(latest[1], f"calendar version {latest[0]}")
        except CalendarError as exc:
            log.error("calendar version %d cannot be read; pushing the one before: %s", latest[0], exc)  # noqa: TRY400
        return self._plan
