"""What the simulated drivers share: their config keys, seeded noise and the fault schedule."""

from __future__ import annotations

import hashlib
import math
from datetime import datetime
from typing import Annotated

from msgspec import Meta

from agent.drivers.base import DeviceConfig


class SimConfig(DeviceConfig, frozen=True, kw_only=True):
    seed: int = 0
    # A simulated fault starts every fault_every_s seconds of device time and lasts fault_for_s; none if unset.
    fault_every_s: Annotated[float, Meta(gt=0)] | None = None
    fault_for_s: Annotated[float, Meta(gt=0)] = 10.0

    def __post_init__(self) -> None:
        if self.fault_every_s is not None and self.fault_for_s >= self.fault_every_s:
            raise ValueError(
                f"fault_for_s ({self.fault_for_s:g}) must be shorter than fault_every_s ({self.fault_every_s:g})"
            )


def noise(seed: int, *parts: object) -> float:
    """A reproducible value in [0, 1) for ``parts``: a hash, not a random stream, so it needs no state."""
    key = "\x1f".join([str(seed), *(str(p) for p in parts)]).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64


def window(now: datetime, length_s: float) -> int:
    """The index of the ``length_s``-second slot of device time that ``now`` falls in."""
    return math.floor(now.timestamp() / length_s)


def fault_phase(config: SimConfig, now: datetime) -> tuple[int, float] | None:
    """``(fault number, fraction elapsed)`` while a scheduled fault is on, else ``None``."""
    if config.fault_every_s is None:
        return None
    number, offset = divmod(now.timestamp(), config.fault_every_s)
    if offset >= config.fault_for_s:
        return None
    return int(number), offset / config.fault_for_s
