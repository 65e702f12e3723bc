"""Message models of wire version 1 (pydantic, frozen, unknown fields rejected).

Every agent → hub message is an :class:`Envelope`: wire version ``v``, the sending ``agent``
(``<city>/<site>/<agent>``), the ``boot`` id of the agent process that made it, a per-boot sequence
number ``seq`` (birth is 0, then 1, 2, … in the order the agent produced them) and the device time
``ts``.  ``historical`` marks a message replayed after an outage: stored, but it raises no live alarm.

The last will (:class:`Death`) is registered with the broker at connect time and carries the boot id
and seq of the birth it ends, so a will that arrives late from an older boot is recognisable as stale
(Sparkplug's ``bdSeq`` idea).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from protocol.topics import AGENT_ID_PATTERN, SITE_ID_PATTERN

WIRE_VERSION: Literal[1] = 1

DeviceKind = Literal["camera", "idcard", "jammer", "probe", "other"]
DeviceStatus = Literal["ok", "warning", "fault", "offline", "unknown"]
Severity = Literal["info", "warning", "critical"]
Scalar = str | int | float | bool | None

MAX_SEQ = 2**63 - 1

DEVICE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"
BOOT_PATTERN = r"^[0-9a-f]{8,64}$"
NAME_PATTERN = r"^[a-z][a-z0-9_.]{0,63}$"
# A plan's version: the start of the SHA-256 of the calendar file in force (hub/calendar).
CALENDAR_VERSION_PATTERN = r"^[0-9a-f]{16,64}$"
PAPER_MAX_CHARS = 128

DeviceId = Annotated[str, Field(pattern=DEVICE_ID_PATTERN)]
CalendarVersion = Annotated[str, Field(pattern=CALENDAR_VERSION_PATTERN)]
NO_CALENDAR = "none"
HeldCalendar = Annotated[str, Field(pattern=rf"^(?:{NO_CALENDAR}|{CALENDAR_VERSION_PATTERN[1:-1]})$")]
Details = Annotated[dict[str, Scalar], Field(default_factory=dict, max_length=64)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DeviceInfo(_Strict):
    """One device in an agent's inventory, as announced in its birth.

    ``identity`` is what the hardware says it is, once the driver has asked it (an ID-card reader's SAM id,
    ``05.01-20240517-0000012345-0123456789``); ``None`` until then.  It is not the configured ``id``: a
    reader swapped for another keeps the ``id`` of its slot and changes ``identity``.  When an identity
    or the inventory changes, the agent sends a fresh birth of the same boot under the next seq.
    """

    kind: DeviceKind
    id: DeviceId
    driver: Annotated[str, Field(min_length=1, max_length=64)]
    room: Annotated[str | None, Field(max_length=64)] = None
    label: Annotated[str, Field(max_length=128)] = ""
    # Printable ASCII without spaces: it is shown on the dashboard and compared, never parsed.
    identity: Annotated[str | None, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,63}$")] = None


class DeviceState(_Strict):
    """The current condition of one device."""

    kind: DeviceKind
    id: DeviceId
    status: DeviceStatus
    details: Details


class Envelope(_Strict):
    v: Literal[1] = WIRE_VERSION
    agent: Annotated[str, Field(pattern=f"^{AGENT_ID_PATTERN}$")]
    boot: Annotated[str, Field(pattern=BOOT_PATTERN)]
    # Bounded to a signed 64-bit integer: what the hub's database column holds.
    seq: Annotated[int, Field(ge=0, le=MAX_SEQ)]
    ts: AwareDatetime
    historical: bool = False


class Birth(Envelope):
    type: Literal["birth"] = "birth"
    sw_version: Annotated[str, Field(min_length=1, max_length=32)]
    started_at: AwareDatetime
    heartbeat_s: Annotated[float, Field(gt=0, le=300)]
    devices: Annotated[list[DeviceInfo], Field(max_length=512)]


class Death(Envelope):
    type: Literal["death"] = "death"
    reason: Literal["will", "shutdown"] = "will"


class Heartbeat(Envelope):
    type: Literal["heartbeat"] = "heartbeat"
    uptime_s: Annotated[float, Field(ge=0)]
    outbox_depth: Annotated[int, Field(ge=0)] = 0
    outbox_oldest_s: Annotated[float | None, Field(ge=0)] = None
    outbox_capacity: Annotated[int | None, Field(ge=1)] = None
    # The version of the exam plan the agent holds (an :class:`AgentCalendar`), "none" when it holds none;
    # absent from agents that predate calendars.
    calendar_version: HeldCalendar | None = None


class State(Envelope):
    type: Literal["state"] = "state"
    devices: Annotated[list[DeviceState], Field(min_length=1, max_length=512)]


class Event(Envelope):
    type: Literal["event"] = "event"
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    severity: Severity
    device: DeviceId | None = None
    details: Details


SNAPSHOT_MAX_BYTES = 60_000


class Snapshot(Envelope):
    """A camera picture that an event refers to by ``sha256`` (vault entry/exit, person alone, tamper).

    Sent after the event, through the outbox like any message; the JPEG is base64 in ``data`` and at most
    60 KB.  Vault pictures are custody evidence (rule V5); ID-card photos never travel (they stay in the
    card reader driver).
    """

    type: Literal["snapshot"] = "snapshot"
    device: DeviceId
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    content_type: Literal["image/jpeg"] = "image/jpeg"
    width: Annotated[int, Field(ge=1, le=4096)]
    height: Annotated[int, Field(ge=1, le=4096)]
    data: Annotated[str, Field(min_length=4, max_length=(SNAPSHOT_MAX_BYTES + 2) // 3 * 4)]

    @field_validator("data")
    @classmethod
    def _base64_jpeg(cls, value: str) -> str:
        try:
            jpeg = base64.b64decode(value, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from exc
        if not jpeg.startswith(b"\xff\xd8"):
            raise ValueError("not a JPEG (no SOI marker)")
        return value

    @model_validator(mode="after")
    def _hash_matches(self) -> Snapshot:
        # Events name the picture by this hash: a mismatch would attach the wrong evidence to an event.
        actual = hashlib.sha256(base64.b64decode(self.data)).hexdigest()
        if actual != self.sha256:
            raise ValueError(f"sha256 {self.sha256[:12]}… does not match the picture ({actual[:12]}…)")
        return self


UpMessage = Annotated[Birth | Death | Heartbeat | State | Event | Snapshot, Field(discriminator="type")]


class Command(_Strict):
    """Hub → agent: an instruction, answered (later issues) by an event that names ``id``."""

    v: Literal[1] = WIRE_VERSION
    type: Literal["command"] = "command"
    id: Annotated[str, Field(min_length=1, max_length=64)]
    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    args: Details
    ts: AwareDatetime


SeqRange = tuple[Annotated[int, Field(ge=0, le=MAX_SEQ)], Annotated[int, Field(ge=0, le=MAX_SEQ)]]


class Ack(_Strict):
    """Hub → agent: these seqs of ``boot`` are committed in the hub's database and may leave the outbox.

    Sent only after the database commit, never on the broker's PUBACK: a broker that restarts without
    persistence, or a hub that dies before committing, must not make the agent forget a message.
    """

    v: Literal[1] = WIRE_VERSION
    type: Literal["ack"] = "ack"
    boot: Annotated[str, Field(pattern=BOOT_PATTERN)]
    ranges: Annotated[list[SeqRange], Field(min_length=1, max_length=4096)]
    ts: AwareDatetime


CALENDAR_MAX_SESSIONS = 1024
CALENDAR_MAX_ROOMS = 256
RoomName = Annotated[str, Field(min_length=1, max_length=64)]


class PlannedSession(_Strict):
    """One sitting at the agent's site: check-in opens at ``checkin_start``, the paper is sat in ``[start, end)``."""

    id: Annotated[str, Field(min_length=1, max_length=64)]
    exam: Annotated[str, Field(min_length=1, max_length=64)]
    paper: Annotated[str, Field(min_length=1, max_length=PAPER_MAX_CHARS)]
    # Rooms of this site taking part; "*" for every room.
    rooms: Annotated[list[RoomName], Field(min_length=1, max_length=CALENDAR_MAX_ROOMS)]
    checkin_start: AwareDatetime
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> PlannedSession:
        if not self.checkin_start <= self.start < self.end:
            raise ValueError("needs checkin_start <= start < end")
        return self


class CustodyPeriod(_Strict):
    """The city's paper custody (rules V2/V3): the vault is watched from ``arrival_due`` until ``returned``."""

    collection: AwareDatetime
    arrival_due: AwareDatetime
    returned: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> CustodyPeriod:
        if not self.arrival_due < self.returned:
            raise ValueError("needs arrival_due < returned")
        return self


class AgentCalendar(_Strict):
    """Hub → agent, retained on the agent's ``calendar`` topic: its site's slice of the exam plan in force.

    ``version`` names the whole plan (the same for every agent); an empty ``sessions`` list means "no
    sessions at this site", which an agent can tell from never having received a calendar.
    """

    v: Literal[1] = WIRE_VERSION
    type: Literal["calendar"] = "calendar"
    version: CalendarVersion
    site: Annotated[str, Field(pattern=f"^{SITE_ID_PATTERN}$")]
    ts: AwareDatetime
    jammer_on_before_s: Annotated[int, Field(ge=0, le=86_400)]
    jammer_off_after_s: Annotated[int, Field(ge=0, le=86_400)]
    sessions: Annotated[list[PlannedSession], Field(max_length=CALENDAR_MAX_SESSIONS)]
    # One city has one custody period; the list is empty when the plan names none for it.
    custody: Annotated[list[CustodyPeriod], Field(max_length=1)]


# A roster's bounds: a site's rooms and one room's candidates (a room seats about 30; these leave room for
# halls while keeping a retained roster under ~5 MB).
ROSTER_MAX_ROOMS = 128
ROSTER_MAX_CANDIDATES = 512
ROSTER_KEY_BYTES = 32
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
CandidateHmac = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def key_id(key: bytes) -> str:
    """A key's public name: the first 16 hex digits of its SHA-256 (says which key, reveals nothing of it)."""
    return hashlib.sha256(key).hexdigest()[:16]


class RoomRoster(_Strict):
    room: RoomName
    # Keyed HMACs of the candidates' ID numbers (see agent/drivers/idcard/privacy.py), never the numbers.
    candidates: Annotated[list[CandidateHmac], Field(max_length=ROSTER_MAX_CANDIDATES)]


class AgentRoster(_Strict):
    """Hub → agent, retained on the agent's ``roster`` topic: the exam's candidate key and its site's rosters.

    ``key`` is the exam's HMAC key (base64 of 32 bytes); ``key_id`` names it.  The message travels only on
    the agent's own topic, which the broker ACL lets no other agent read, and over TLS in production; the
    agent keeps it in a file only it may read and never logs it.  A room of the site that is not listed
    has no registered candidates.
    """

    v: Literal[1] = WIRE_VERSION
    type: Literal["roster"] = "roster"
    exam: Annotated[str, Field(min_length=1, max_length=64)]
    site: Annotated[str, Field(pattern=f"^{SITE_ID_PATTERN}$")]
    key_id: Annotated[str, Field(pattern=KEY_ID_PATTERN)]
    key: Annotated[str, Field(min_length=44, max_length=44, repr=False)]  # a repr must not show it
    ts: AwareDatetime
    rooms: Annotated[list[RoomRoster], Field(max_length=ROSTER_MAX_ROOMS)]

    @field_validator("key")
    @classmethod
    def _key_bytes(cls, value: str) -> str:
        try:
            raw = base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("key is not base64") from None  # the message must never quote the key
        if len(raw) != ROSTER_KEY_BYTES:
            raise ValueError(f"key must be {ROSTER_KEY_BYTES} bytes")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> AgentRoster:
        if key_id(self.key_bytes()) != self.key_id:
            raise ValueError("key_id does not name this key")
        names = [room.room for room in self.rooms]
        if len(set(names)) != len(names):
            raise ValueError("a room is listed twice")
        return self

    def key_bytes(self) -> bytes:
        return base64.b64decode(self.key)


MESSAGE_MODELS: dict[str, type[_Strict]] = {
    "birth": Birth,
    "death": Death,
    "heartbeat": Heartbeat,
    "state": State,
    "event": Event,
    "snapshot": Snapshot,
    "command": Command,
    "ack": Ack,
    "calendar": AgentCalendar,
    "roster": AgentRoster,
}
