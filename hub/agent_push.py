"""Push each known agent its own slice of what is in force, retained on its own down topic.

Once a ``tick``: when what is in force changed (a new import), every known agent gets its slice; an agent
born again since it was last sent one (new boot), or never sent one by this hub (a new agent, any agent
after this hub started), gets it again.  Retained delivery already covers an agent that merely reconnects;
re-sending on a birth makes sure a replaced agent holds the current one.  A publish the broker did not
queue is tried again next tick.  While the database is unavailable the pusher pauses (logged once).

Several hubs may push the same thing: a retained publish of the same slice again is harmless.
:mod:`hub.calendar.push` and :mod:`hub.roster.push` say what is in force and how a slice is built.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar, Generic, Protocol, TypeVar

import msgspec

from hub.errors import StoreError, StoreUnavailable
from protocol.codec import describe_validation_error, encode
from protocol.errors import SchemaError

# (agent id, retained payload) → True once the broker has it queued.
Publish = Callable[[str, bytes], bool]


@dataclass(frozen=True, slots=True)
class KnownAgent:
    agent_id: str
    site: str  # <city>/<site>
    boot: str | None


class AgentsIO(Protocol):
    def known_agents(self) -> list[KnownAgent]: ...


class Versioned(Protocol):
    @property
    def version(self) -> object:
        """Equal for the same content: an agent holding it is not sent it again (unless born again)."""


T = TypeVar("T", bound=Versioned)
IO = TypeVar("IO", bound=AgentsIO)


def utcnow() -> datetime:
    return datetime.now(UTC)


class RetainedPusher(ABC, Generic[T, IO]):
    """The tick, boot tracking and pause; a subclass says what is in force (``T``) and builds a slice."""

    label: ClassVar[str]  # "calendar", "roster": for the log
    log: ClassVar[logging.Logger]

    def __init__(
        self,
        io: IO,
        publish: Publish,
        *,
        tick: timedelta = timedelta(seconds=1),
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._io = io
        self._publish = publish
        self._tick = tick
        self._clock = clock
        self._stored: int | None = None
        self._current: T | None = None
        # agent id → (version of what was pushed, boot) last pushed to it.
        self._sent: dict[str, tuple[object, str | None]] = {}
        self._failing = False
        self.published = 0

    # --- what a subclass supplies ------------------------------------------------------------------

    @abstractmethod
    def stored_version(self) -> int | None:
        """The latest import's version in the database (cheap, read every tick); None before any."""

    @abstractmethod
    def load(self) -> tuple[int, T | None] | None:
        """The latest import: its stored version and what it holds (None when it cannot be read)."""

    @abstractmethod
    def to_wire(self, current: T, site: str, now: datetime) -> msgspec.Struct:
        """One site's slice; may raise ValueError (:class:`msgspec.ValidationError` when it does not fit)."""

    @abstractmethod
    def describe(self, current: T) -> str:
        """For the log: must never hold key material."""

    # --- the mechanism -----------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self._tick.total_seconds()):
            self.tick_safely()

    def tick_safely(self) -> None:
        try:
            self.tick()
        except StoreUnavailable as exc:
            if not self._failing:
                self.log.warning("%s push paused, database unavailable: %s", self.label, exc)
                self._failing = True
            return
        except StoreError:
            self.log.exception("%s push failed", self.label)
            return
        if self._failing:
            self.log.info("%s push resumed", self.label)
            self._failing = False

    def tick(self) -> None:
        current = self._in_force()
        if current is None:
            return  # nothing imported yet: agents keep "never received"
        now = self._clock()
        version = current.version
        for agent in self._io.known_agents():
            sent = (version, agent.boot)
            if self._sent.get(agent.agent_id) == sent:
                continue
            try:
                payload = encode(self.to_wire(current, agent.site, now))
            except (ValueError, SchemaError) as exc:
                # No traceback, no input: only where and why (a slice may hold a key).  msgspec names the field
                # and the rule broken, the models' own checks say what is wrong; neither quotes the key.
                reasons = describe_validation_error(exc) if isinstance(exc, msgspec.ValidationError) else str(exc)
                self.log.error("%s for %s cannot be built: %s", self.label, agent.agent_id, reasons)  # noqa: TRY400
                self._sent[agent.agent_id] = sent  # the same one would fail again; wait for a new one
                continue
            if self._publish(agent.agent_id, payload):
                self._sent[agent.agent_id] = sent
                self.published += 1
                self.log.info("%s pushed to %s", self.describe(current), agent.agent_id)

    def _in_force(self) -> T | None:
        stored = self.stored_version()
        if stored is None or stored == self._stored:
            return self._current
        latest = self.load()
        if latest is None:
            return self._current
        # Remembered even when unreadable: the same import would fail again, so the one before stays.
        self._stored = latest[0]
        if latest[1] is not None:
            self._current = latest[1]
        return self._current
