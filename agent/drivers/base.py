"""The interface every device driver implements, simulated or real.

The supervisor owns the schedule: it calls :meth:`Driver.start` once (and again after a failed start),
:meth:`Driver.poll` on every tick with the time of the tick, :meth:`Driver.events` right after, and
:meth:`Driver.close` at shutdown.  A driver never reads the wall clock for what it reports: the ``now``
it is given is the time of the reading, which keeps simulated drivers exactly reproducible in tests.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, ClassVar, Generic, Protocol, TypeVar

import msgspec

from protocol.messages import DEVICE_ID_PATTERN, DeviceInfo, DeviceKind, DeviceState, DeviceStatus, Scalar, Severity
from protocol.validation import full


class DeviceConfig(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Keys every ``[[devices]]`` entry has; a driver's config subclasses this and narrows ``driver`` to a
    ``Literal`` tag, which is what :mod:`agent.drivers.registry` dispatches on.

    Validated only through :func:`agent.drivers.registry.device_problems` (msgspec checks types and
    constraints when converting, not when a struct is built in code); checks that span keys go in
    ``__post_init__``, raising ``ValueError`` with the reason.  A subclass repeats ``frozen=True,
    kw_only=True`` in its class line: msgspec inherits them, mypy's view of the struct does not."""

    driver: str
    id: Annotated[str, full(DEVICE_ID_PATTERN)]
    room: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None
    label: Annotated[str, msgspec.Meta(max_length=128)] = ""


@dataclass(frozen=True, slots=True)
class DriverEvent:
    """Something that happened at a device, reported once (unlike a state, which is reported until it changes)."""

    name: str
    severity: Severity
    at: datetime
    details: dict[str, Scalar] = field(default_factory=dict)


class Picture(Protocol):
    """A JPEG a driver keeps for an event that names it by hash (a camera's entry/exit snapshot)."""

    @property
    def sha256(self) -> str: ...

    @property
    def jpeg(self) -> bytes: ...

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...


C = TypeVar("C", bound=DeviceConfig)


class Driver(ABC, Generic[C]):
    kind: ClassVar[DeviceKind]
    # True for drivers whose config names files (baselines, sources, keys): they are then built with
    # ``base_dir=``, the config file's folder, against which relative paths are resolved.
    uses_base_dir: ClassVar[bool] = False

    def __init__(self, config: C) -> None:
        self.config = config

    def info(self) -> DeviceInfo:
        return DeviceInfo(
            kind=self.kind, id=self.config.id, driver=self.config.driver, room=self.config.room, label=self.config.label
        )

    def state(self, status: DeviceStatus, details: dict[str, Scalar]) -> DeviceState:
        """Build this device's :class:`DeviceState`; a helper for :meth:`poll`."""
        return DeviceState(kind=self.kind, id=self.config.id, status=status, details=details)

    @abstractmethod
    def start(self) -> None:
        """Open the device; raise :class:`agent.errors.DriverError` if it cannot be opened."""

    @abstractmethod
    def poll(self, now: datetime) -> DeviceState:
        """Read the device's condition at ``now``.  Must return within a fraction of a tick; raise
        :class:`agent.errors.DriverError` on failure (the supervisor reports the device as "fault")."""

    @abstractmethod
    def events(self) -> list[DriverEvent]:
        """Hand over the events gathered since the last call, oldest first, and forget them."""

    def take_snapshot(self, sha256: str) -> Picture | None:
        """Hand over the picture an event of this driver named in its ``snapshot`` detail, and forget it;
        None when it is not held (any more)."""
        return None

    @abstractmethod
    def close(self) -> None:
        """Release the device; must be safe to call twice and after a failed :meth:`start`."""
