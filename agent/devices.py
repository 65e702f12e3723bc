"""One device as the supervisor sees it: a driver wrapped so that its failures become states, not crashes.

A driver that cannot start is retried; one whose ``poll`` raises is reported as "fault" with the
error text, and is polled again next tick; so is one whose state does not fit the wire model (checked
here, since msgspec does not validate a struct a driver builds).  Errors are logged once per streak, not
once per tick.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import msgspec

from agent.drivers.base import Driver, DriverEvent, Picture
from agent.errors import DriverError
from protocol.messages import DeviceInfo, DeviceState
from protocol.validation import checked

log = logging.getLogger("sitewatch.agent.devices")

MAX_ERROR_TEXT = 200


class DeviceSlot:
    def __init__(self, driver: Driver[Any], retry_start_s: float = 30.0) -> None:
        self.driver = driver
        self.retry_start_s = retry_start_s
        self.errors = 0
        self.started = False
        self._next_start = 0.0
        self._failing: str | None = None

    @property
    def id(self) -> str:
        ident: str = self.driver.config.id
        return ident

    def info(self) -> DeviceInfo:
        """What the birth announces; raises :class:`msgspec.ValidationError` when it does not fit the wire."""
        return checked(self.driver.info())

    def start(self, monotonic: float) -> None:
        self._next_start = monotonic + self.retry_start_s
        try:
            self.driver.start()
        except DriverError as exc:
            self._failed(f"start failed: {exc}")
            return
        except Exception as exc:  # noqa: BLE001  # a driver bug must not stop the other devices
            self._failed(f"start failed: {type(exc).__name__}: {exc}", exc)
            return
        self.started = True

    def poll(self, now: datetime, monotonic: float) -> DeviceState:
        if not self.started and monotonic >= self._next_start:
            self.start(monotonic)
        if not self.started:
            return self._fault(self._failing or "not started")
        try:
            state = checked(self.driver.poll(now))
        except DriverError as exc:
            return self._fault(self._failed(str(exc)))
        except msgspec.ValidationError as exc:
            return self._fault(self._failed(f"invalid state: {exc}"))
        except Exception as exc:  # noqa: BLE001  # a driver bug must not stop the other devices
            return self._fault(self._failed(f"{type(exc).__name__}: {exc}", exc))
        if state.id != self.id or state.kind != self.driver.kind:
            return self._fault(self._failed(f"driver reported {state.kind} {state.id!r}, expected this device"))
        if self._failing is not None:
            log.info("device %s recovered", self.id)
            self._failing = None
        return state

    def events(self) -> list[DriverEvent]:
        try:
            return self.driver.events()
        except Exception as exc:  # noqa: BLE001  # a driver bug must not stop the other devices
            self._failed(f"events failed: {type(exc).__name__}: {exc}", exc)
            return []

    def take_snapshot(self, sha256: str) -> Picture | None:
        try:
            return self.driver.take_snapshot(sha256)
        except Exception as exc:  # noqa: BLE001  # a missing picture must not cost the event
            self._failed(f"snapshot failed: {type(exc).__name__}: {exc}", exc)
            return None

    def close(self) -> None:
        try:
            self.driver.close()
        except Exception:  # closing the rest matters more than this one
            log.exception("device %s: close failed", self.id)

    def _failed(self, text: str, exc: BaseException | None = None) -> str:
        self.errors += 1
        text = text[:MAX_ERROR_TEXT]
        if text != self._failing:
            log.warning("device %s: %s", self.id, text, exc_info=exc)
        self._failing = text
        return text

    def _fault(self, text: str) -> DeviceState:
        return DeviceState(kind=self.driver.kind, id=self.id, status="fault", details={"error": text})
