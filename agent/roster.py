"""The exam's candidate key and this site's room rosters: received from the hub, kept on disk, given to readers.

The hub retains an :class:`~protocol.messages.AgentRoster` on the agent's ``roster`` topic;
:class:`RosterKeeper` takes it up the way :mod:`agent.retained` keeps every retained message (checked on
the supervisor's loop, saved atomically beside the outbox, read back at start), in a file only this user
may read, and the supervisor hands it to the ID-card readers.  So an agent restarted without network
still marks reads registered or not.

Nothing here logs the key or the payload: only the exam, the key's id and sizes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol, runtime_checkable

from agent.drivers.idcard.privacy import CandidateKey
from agent.retained import Rejected, Retained, RetainedKeeper, checked
from protocol.codec import decode_roster
from protocol.messages import AgentRoster

# Only this user may read the file: it holds the key.
FILE_MODE: Final = 0o600


class RosterRejected(Rejected):
    """A roster (from the hub or from the file) that cannot be used: not valid, or for another site."""


@dataclass(frozen=True, slots=True)
class PushedRoster:
    """What a reader needs from the pushed roster: the key and each room's candidate HMACs."""

    exam: str
    key_id: str
    key: CandidateKey
    rooms: Mapping[str, frozenset[str]]

    def room(self, name: str) -> frozenset[str]:
        """The room's registered candidates; a room the hub did not list has none."""
        return self.rooms.get(name, frozenset())


@runtime_checkable
class RosterUser(Protocol):
    """A driver that takes the pushed roster (the ID-card reader); called on the supervisor's thread."""

    def use_roster(self, roster: PushedRoster | None) -> None: ...


def check(payload: bytes, site: str) -> AgentRoster:
    """The roster in ``payload`` if it is valid and for ``site`` (``<city>/<site>``)."""
    return checked(payload, site, decode_roster, RosterRejected, "roster")


def held(message: AgentRoster) -> PushedRoster:
    rooms = {room.room: frozenset(room.candidates) for room in message.rooms}
    return PushedRoster(message.exam, message.key_id, CandidateKey(message.key_bytes()), rooms)


def describe(message: AgentRoster) -> str:
    """Sizes and ids only: never the key."""
    candidates = sum(len(room.candidates) for room in message.rooms)
    return f"exam {message.exam}, key {message.key_id}, {len(message.rooms)} room(s), {candidates} candidate(s)"


ROSTER: Final = Retained("roster", check, held, describe, mode=FILE_MODE)


class RosterKeeper(RetainedKeeper[AgentRoster, PushedRoster]):
    """The roster held by one agent; ``path`` None keeps it in memory only."""

    def __init__(self, site: str, path: Path | None) -> None:
        super().__init__(ROSTER, site, path)

    @property
    def roster(self) -> PushedRoster | None:
        return self.held
