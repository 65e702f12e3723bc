"""Message models of wire version 1 (msgspec structs: frozen, unknown fields rejected).

Every agent → hub message is an :class:`Envelope`: wire version ``v``, the sending ``agent``
(``<city>/<site>/<agent>``), the ``boot`` id of the agent process that made it, a per-boot sequence
number ``seq`` (birth is 0, then 1, 2, … in the order the agent produced them) and the device time
``ts``.  ``historical`` marks a message replayed after an outage: stored, but it raises no live alarm.

The last will (:class:`Death`) is registered with the broker at connect time and carries the boot id
and seq of the birth it ends, so a will that arrives late from an older boot is recognisable as stale
(Sparkplug's ``bdSeq`` idea).

msgspec checks types, constraints and ``__post_init__`` when it decodes or converts data
(:func:`protocol.validation.convert`), but a struct built in code only runs its ``__post_init__``: code
that builds a message from data it did not make passes it through :func:`protocol.validation.checked`,
and :func:`protocol.codec.encode` checks every message before it leaves.  Patterns are written ``^…$``
and applied through :func:`protocol.validation.full`, so a trailing newline does not pass.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from protocol.topics import AGENT_ID_PATTERN, SITE_ID_PATTERN
from protocol.validation import full

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

# A timezone-aware datetime: a naive device time is refused (it cannot be placed on the hub's timeline).
AwareDatetime = Annotated[datetime, Meta(tz=True)]
DeviceId = Annotated[str, full(DEVICE_ID_PATTERN)]
CalendarVersion = Annotated[str, full(CALENDAR_VERSION_PATTERN)]
NO_CALENDAR = "none"
HeldCalendar = Annotated[str, full(rf"^(?:{NO_CALENDAR}|{CALENDAR_VERSION_PATTERN[1:-1]})$")]
# Given a default with ``msgspec.field(default_factory=dict)`` where it is declared.
Details = Annotated[dict[str, Scalar], Meta(max_length=64)]


class _Strict(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """Every wire model: immutable, and a key the model does not declare is an error, not ignored.

    Subclasses inherit ``frozen`` and ``forbid_unknown_fields`` but not ``kw_only`` (msgspec applies it to
    the fields a class declares), so each one says ``kw_only=True`` again, and ``frozen=True`` for mypy.
    """


class DeviceInfo(_Strict, frozen=True, kw_only=True):
    """One device in an agent's inventory, as announced in its birth.

    ``identity`` is what the hardware says it is, once the driver has asked it (an ID-card reader's SAM id,
    ``05.01-20240517-0000012345-0123456789``); ``None`` until then.  It is not the configured ``id``: a
    reader swapped for another keeps the ``id`` of its slot and changes ``identity``.  When an identity
    or the inventory changes, the agent sends a fresh birth of the same boot under the next seq.
    """

    kind: DeviceKind
    id: DeviceId
    driver: Annotated[str, Meta(min_length=1, max_length=64)]
    room: Annotated[str, Meta(max_length=64)] | None = None
    label: Annotated[str, Meta(max_length=128)] = ""
    # Printable ASCII without spaces: it is shown on the dashboard and compared, never parsed.
    identity: Annotated[str, full(r"^[A-Za-z0-9][A-Za-z0-9_.:/+-]{0,63}$")] | None = None


class DeviceState(_Strict, frozen=True, kw_only=True):
    """The current condition of one device."""

    kind: DeviceKind
    id: DeviceId
    status: DeviceStatus
    details: Details = msgspec.field(default_factory=dict)


class Envelope(_Strict, frozen=True, kw_only=True):
    v: Literal[1] = WIRE_VERSION
    agent: Annotated[str, full(f"^{AGENT_ID_PATTERN}$")]
    boot: Annotated[str, full(BOOT_PATTERN)]
    # Bounded to a signed 64-bit integer: what the hub's database column holds.
    seq: Annotated[int, Meta(ge=0, le=MAX_SEQ)]
    ts: AwareDatetime
    historical: bool = False


class Birth(Envelope, frozen=True, kw_only=True):
    type: Literal["birth"] = "birth"
    sw_version: Annotated[str, Meta(min_length=1, max_length=32)]
    started_at: AwareDatetime
    heartbeat_s: Annotated[float, Meta(gt=0, le=300)]
    devices: Annotated[list[DeviceInfo], Meta(max_length=512)]


class Death(Envelope, frozen=True, kw_only=True):
    type: Literal["death"] = "death"
    reason: Literal["will", "shutdown"] = "will"


class Heartbeat(Envelope, frozen=True, kw_only=True):
    type: Literal["heartbeat"] = "heartbeat"
    uptime_s: Annotated[float, Meta(ge=0)]
    outbox_depth: Annotated[int, Meta(ge=0)] = 0
    outbox_oldest_s: Annotated[float, Meta(ge=0)] | None = None
    outbox_capacity: Annotated[int, Meta(ge=1)] | None = None
    # The version of the exam plan the agent holds (an :class:`AgentCalendar`), "none" when it holds none;
    # absent from agents that predate calendars.
    calendar_version: HeldCalendar | None = None


class State(Envelope, frozen=True, kw_only=True):
    type: Literal["state"] = "state"
    devices: Annotated[list[DeviceState], Meta(min_length=1, max_length=512)]


class Event(Envelope, frozen=True, kw_only=True):
    type: Literal["event"] = "event"
    name: Annotated[str, full(NAME_PATTERN)]
    severity: Severity
    device: DeviceId | None = None
    details: Details = msgspec.field(default_factory=dict)


SNAPSHOT_MAX_BYTES = 60_000


class Snapshot(Envelope, frozen=True, kw_only=True):
    """A camera picture that an event refers to by ``sha256`` (vault entry/exit, person alone, tamper).

    Sent after the event, through the outbox like any message; the JPEG is base64 in ``data`` and at most
    60 KB.  Vault pictures are custody evidence (rule V5); ID-card photos never travel (they stay in the
    card reader driver).
    """

    type: Literal["snapshot"] = "snapshot"
    device: DeviceId
    sha256: Annotated[str, full(r"^[0-9a-f]{64}$")]
    content_type: Literal["image/jpeg"] = "image/jpeg"
    width: Annotated[int, Meta(ge=1, le=4096)]
    height: Annotated[int, Meta(ge=1, le=4096)]
    data: Annotated[str, Meta(min_length=4, max_length=(SNAPSHOT_MAX_BYTES + 2) // 3 * 4)]

    def __post_init__(self) -> None:
        try:
            jpeg = base64.b64decode(self.data, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"not base64: {exc}") from exc
        if not jpeg.startswith(b"\xff\xd8"):
            raise ValueError("not a JPEG (no SOI marker)")
        # Events name the picture by this hash: a mismatch would attach the wrong evidence to an event.
        actual = hashlib.sha256(jpeg).hexdigest()
        if actual != self.sha256:
            raise ValueError(f"sha256 {self.sha256[:12]}… does not match the picture ({actual[:12]}…)")


# Chosen by the payload's ``type`` (UP_MODELS below), which each model holds as an ordinary field.
UpMessage = Birth | Death | Heartbeat | State | Event | Snapshot


class Command(_Strict, frozen=True, kw_only=True):
    """Hub → agent: an instruction, answered (later issues) by an event that names ``id``."""

    v: Literal[1] = WIRE_VERSION
    type: Literal["command"] = "command"
    id: Annotated[str, Meta(min_length=1, max_length=64)]
    name: Annotated[str, full(NAME_PATTERN)]
    args: Details = msgspec.field(default_factory=dict)
    ts: AwareDatetime


SeqRange = tuple[Annotated[int, Meta(ge=0, le=MAX_SEQ)], Annotated[int, Meta(ge=0, le=MAX_SEQ)]]


class Ack(_Strict, frozen=True, kw_only=True):
    """Hub → agent: these seqs of ``boot`` are committed in the hub's database and may leave the outbox.

    Sent only after the database commit, never on the broker's PUBACK: a broker that restarts without
    persistence, or a hub that dies before committing, must not make the agent forget a message.
    """

    v: Literal[1] = WIRE_VERSION
    type: Literal["ack"] = "ack"
    boot: Annotated[str, full(BOOT_PATTERN)]
    ranges: Annotated[list[SeqRange], Meta(min_length=1, max_length=4096)]
    ts: AwareDatetime


CALENDAR_MAX_SESSIONS = 1024
CALENDAR_MAX_ROOMS = 256
RoomName = Annotated[str, Meta(min_length=1, max_length=64)]


class PlannedSession(_Strict, frozen=True, kw_only=True):
    """One sitting at the agent's site: check-in opens at ``checkin_start``, the paper is sat in ``[start, end)``."""

    id: Annotated[str, Meta(min_length=1, max_length=64)]
    exam: Annotated[str, Meta(min_length=1, max_length=64)]
    paper: Annotated[str, Meta(min_length=1, max_length=PAPER_MAX_CHARS)]
    # Rooms of this site taking part; "*" for every room.
    rooms: Annotated[list[RoomName], Meta(min_length=1, max_length=CALENDAR_MAX_ROOMS)]
    checkin_start: AwareDatetime
    start: AwareDatetime
    end: AwareDatetime

    def __post_init__(self) -> None:
        if not self.checkin_start <= self.start < self.end:
            raise ValueError("needs checkin_start <= start < end")


class CustodyPeriod(_Strict, frozen=True, kw_only=True):
    """The city's paper custody (rules V2/V3): the vault is watched from ``arrival_due`` until ``returned``."""

    collection: AwareDatetime
    arrival_due: AwareDatetime
    returned: AwareDatetime

    def __post_init__(self) -> None:
        if not self.arrival_due < self.returned:
            raise ValueError("needs arrival_due < returned")


class AgentCalendar(_Strict, frozen=True, kw_only=True):
    """Hub → agent, retained on the agent's ``calendar`` topic: its site's slice of the exam plan in force.

    ``version`` names the whole plan (the same for every agent); an empty ``sessions`` list means "no
    sessions at this site", which an agent can tell from never having received a calendar.
    """

    v: Literal[1] = WIRE_VERSION
    type: Literal["calendar"] = "calendar"
    version: CalendarVersion
    site: Annotated[str, full(f"^{SITE_ID_PATTERN}$")]
    ts: AwareDatetime
    jammer_on_before_s: Annotated[int, Meta(ge=0, le=86_400)]
    jammer_off_after_s: Annotated[int, Meta(ge=0, le=86_400)]
    sessions: Annotated[list[PlannedSession], Meta(max_length=CALENDAR_MAX_SESSIONS)]
    # One city has one custody period; the list is empty when the plan names none for it.
    custody: Annotated[list[CustodyPeriod], Meta(max_length=1)]


# A roster's bounds: a site's rooms and one room's candidates (a room seats about 30; these leave room for
# halls while keeping a retained roster under ~5 MB).
ROSTER_MAX_ROOMS = 128
ROSTER_MAX_CANDIDATES = 512
ROSTER_KEY_BYTES = 32
KEY_ID_PATTERN = r"^[0-9a-f]{16}$"
CandidateHmac = Annotated[str, full(r"^[0-9a-f]{64}$")]


def key_id(key: bytes) -> str:
    """A key's public name: the first 16 hex digits of its SHA-256 (says which key, reveals nothing of it)."""
    return hashlib.sha256(key).hexdigest()[:16]


class RoomRoster(_Strict, frozen=True, kw_only=True):
    room: RoomName
    # Keyed HMACs of the candidates' ID numbers (see agent/drivers/idcard/privacy.py), never the numbers.
    candidates: Annotated[list[CandidateHmac], Meta(max_length=ROSTER_MAX_CANDIDATES)]


class AgentRoster(_Strict, frozen=True, kw_only=True):
    """Hub → agent, retained on the agent's ``roster`` topic: the exam's candidate key and its site's rosters.

    ``key`` is the exam's HMAC key (base64 of 32 bytes); ``key_id`` names it.  The message travels only on
    the agent's own topic, which the broker ACL lets no other agent read, and over TLS in production; the
    agent keeps it in a file only it may read and never logs it.  A room of the site that is not listed
    has no registered candidates.
    """

    v: Literal[1] = WIRE_VERSION
    type: Literal["roster"] = "roster"
    exam: Annotated[str, Meta(min_length=1, max_length=64)]
    site: Annotated[str, full(f"^{SITE_ID_PATTERN}$")]
    key_id: Annotated[str, full(KEY_ID_PATTERN)]
    key: Annotated[str, Meta(min_length=44, max_length=44)]  # never in a repr (see __repr__)
    ts: AwareDatetime
    rooms: Annotated[list[RoomRoster], Meta(max_length=ROSTER_MAX_ROOMS)]

    def __post_init__(self) -> None:
        try:
            raw = base64.b64decode(self.key, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("key is not base64") from None  # the message must never quote the key
        if len(raw) != ROSTER_KEY_BYTES:
            raise ValueError(f"key must be {ROSTER_KEY_BYTES} bytes")
        if key_id(raw) != self.key_id:
            raise ValueError("key_id does not name this key")
        names = [room.room for room in self.rooms]
        if len(set(names)) != len(names):
            raise ValueError("a room is listed twice")

    def key_bytes(self) -> bytes:
        return base64.b64decode(self.key)

    # A struct's repr (and so its str, and a log line's %r) shows every field; the key must not be in one.
    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name != "key")
        return f"{type(self).__name__}({shown})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [(name, getattr(self, name)) for name in self.__struct_fields__ if name != "key"]


# The agent → hub models by the ``type`` their payload names (one for each of protocol.topics.UP_KINDS).
UP_MODELS: dict[str, type[UpMessage]] = {
    "birth": Birth,
    "death": Death,
    "heartbeat": Heartbeat,
    "state": State,
    "event": Event,
    "snapshot": Snapshot,
}

MESSAGE_MODELS: dict[str, type[_Strict]] = {
    **UP_MODELS,
    "command": Command,
    "ack": Ack,
    "calendar": AgentCalendar,
    "roster": AgentRoster,
}
