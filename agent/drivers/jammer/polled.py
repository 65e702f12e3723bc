"""What the jammer drivers share: read at most every ``interval_s``, keep the last reading, turn changes into
events, and say in a failure's text when the last good poll was (the "last successful poll" of the device).

Between reads, :meth:`PolledJammer.poll` repeats the last outcome — the same state, or the same error —
so a slow vendor platform is not asked every tick and the supervisor logs a failure once per streak.
"""

from __future__ import annotations

from abc import abstractmethod
from datetime import datetime
from typing import Annotated, TypeVar

from msgspec import Meta

from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.drivers.jammer.reading import JammerReading, changes
from agent.errors import DriverError
from protocol.messages import DeviceState


class PolledJammerConfig(DeviceConfig, frozen=True, kw_only=True):
    interval_s: Annotated[float, Meta(ge=0.2, le=3600)] = 1.0


P = TypeVar("P", bound=PolledJammerConfig)


class PolledJammer(Driver[P]):
    kind = "jammer"

    def __init__(self, config: P) -> None:
        super().__init__(config)
        self._started = False
        self._last_try: datetime | None = None
        self._last_ok: datetime | None = None
        self._reading: JammerReading | None = None
        self._error: DriverError | None = None
        self._pending: list[DriverEvent] = []

    @abstractmethod
    def open(self) -> None:
        """Prepare the connection; raise DriverError if it cannot be set up at all (bad port URL, no library)."""

    @abstractmethod
    def read(self) -> JammerReading:
        """Read the device once; raise DriverError on failure.  Must be bounded by the configured timeout."""

    @abstractmethod
    def shut(self) -> None:
        """Release the connection; safe to call twice."""

    def start(self) -> None:
        self.open()
        self._started = True

    def poll(self, now: datetime) -> DeviceState:
        if not self._started:
            raise DriverError(f"jammer {self.config.id} polled before start")
        last = self._last_try
        # A wall clock set back must not freeze the readings until it catches up.
        if last is None or now < last or (now - last).total_seconds() >= self.config.interval_s:
            self._last_try = now
            self._refresh(now)
        if self._error is not None:
            # Raised again every poll of a streak: drop the old traceback, or it would grow with each raise.
            raise self._error.with_traceback(None)
        assert self._reading is not None
        return self.state(self._reading.status, self._reading.details())

    def _refresh(self, now: datetime) -> None:
        try:
            reading = self.read()
        except DriverError as exc:
            since = self._last_ok.isoformat() if self._last_ok else "never"
            failure = DriverError(f"{exc} (last good poll: {since})")
            failure.__cause__ = exc
            self._error = failure
            return
        self._pending += changes(self._reading, reading, now)
        self._reading = reading
        self._error = None
        self._last_ok = now

    def events(self) -> list[DriverEvent]:
        drained, self._pending = self._pending, []
        return drained

    def close(self) -> None:
        self._started = False
        self.shut()
