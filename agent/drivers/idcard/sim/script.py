"""A scripted day at a reader: which card lies on it and which fault is on, as a pure function of time."""

from __future__ import annotations

import math
from dataclasses import dataclass

from agent.drivers.idcard.sim.model import Fault


@dataclass(frozen=True, slots=True)
class Step:
    slot: int
    card: int | None
    fault: Fault | None


@dataclass(frozen=True, slots=True)
class Script:
    """A card (the next of ``cards``, round robin) is put down every ``card_every_s`` and lies there for
    ``dwell_s``.  If ``fault_every_s`` is set, the last ``fault_for_s`` of every such period runs the
    next of ``faults``, so a run starts healthy and shows each fault in turn."""

    cards: int
    card_every_s: float = 8.0
    dwell_s: float = 2.0
    faults: tuple[Fault, ...] = ()
    fault_every_s: float = 0.0
    fault_for_s: float = 5.0

    def __post_init__(self) -> None:
        if self.cards < 1 or self.card_every_s <= 0 or not 0 < self.dwell_s < self.card_every_s:
            raise ValueError("need at least one card, and 0 < dwell_s < card_every_s")
        if self.fault_every_s and (not self.faults or not 0 < self.fault_for_s < self.fault_every_s):
            raise ValueError("faults need a list of faults and 0 < fault_for_s < fault_every_s")

    def at(self, t: float) -> Step:
        slot = math.floor(t / self.card_every_s)
        card = slot % self.cards if t - slot * self.card_every_s < self.dwell_s else None
        fault = None
        if self.fault_every_s:
            period = math.floor(t / self.fault_every_s)
            if t - period * self.fault_every_s >= self.fault_every_s - self.fault_for_s:
                fault = self.faults[period % len(self.faults)]
        return Step(slot, card, fault)
