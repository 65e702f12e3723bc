"""Device inventories from births, pure: which device slots now hold different hardware.

A device's ``id`` names its slot in the agent's config (``reader-101``); its ``identity`` names the hardware
in it (the reader's SAM id).  Hardware swapped in a slot is worth recording: a reader replaced during an
exam day should be a known, explained change, not something found later in the check-in records.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from protocol.messages import DeviceInfo


@dataclass(frozen=True, slots=True)
class Replaced:
    agent_id: str
    device_id: str
    room: str | None
    old: str
    new: str

    def describe(self) -> str:
        where = f" in room {self.room}" if self.room else ""
        return f"agent {self.agent_id}: device {self.device_id}{where} replaced: {self.old} → {self.new}"


def replaced(agent_id: str, known: Mapping[str, str | None], devices: Sequence[DeviceInfo]) -> list[Replaced]:
    """Devices of ``devices`` whose identity differs from the one ``known`` (device id → identity) holds.

    A device that is new, or whose identity is not known on either side (a reader unplugged since the
    agent started has none yet), is no replacement.
    """
    out = []
    for device in devices:
        old = known.get(device.id)
        if old is not None and device.identity is not None and old != device.identity:
            out.append(Replaced(agent_id, device.id, device.room, old, device.identity))
    return out
