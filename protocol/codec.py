"""Bytes ↔ typed messages.  Pure: no sockets, no clocks.

``decode_up(topic, payload)`` is what the hub calls for every message it receives; it either returns a
typed message or raises a :class:`protocol.errors.ProtocolError` subclass whose text names what is
wrong, so the hub can quarantine the message with that reason.  ``encode`` checks a message before it
serialises it (a struct built in code is not validated by msgspec), so neither side sends what the other
would refuse.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

import msgspec

from protocol.errors import IdentityMismatch, PayloadError, SchemaError, TopicError, UnsupportedVersion
from protocol.messages import UP_MODELS, WIRE_VERSION, Ack, AgentCalendar, AgentRoster, Command, UpMessage
from protocol.topics import UP_KINDS, Topic, parse_topic
from protocol.validation import checked, convert, problem

_Message = TypeVar("_Message", bound=msgspec.Struct)

MAX_PAYLOAD_BYTES = 256 * 1024


def encode(message: msgspec.Struct) -> bytes:
    """Serialise a protocol message to compact UTF-8 JSON, after checking it as the receiver will.

    Raises :class:`SchemaError` naming the field when the message is not valid.
    """
    try:
        valid = checked(message)
    except msgspec.ValidationError as exc:
        kind = getattr(message, "type", type(message).__name__)
        raise SchemaError(f"cannot encode this {kind}: {describe_validation_error(exc)}") from exc
    return msgspec.json.encode(valid)


def _load_object(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload is {len(payload)} bytes; the limit is {MAX_PAYLOAD_BYTES}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError(f"payload is not UTF-8 (byte {exc.start}: {exc.reason})") from exc
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PayloadError(f"payload is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from exc
    if not isinstance(obj, dict):
        raise PayloadError(f"payload is JSON {type(obj).__name__}, expected an object")
    version = obj.get("v")
    if version is None:
        raise SchemaError("field v: missing (the wire version)")
    if version != WIRE_VERSION:
        raise UnsupportedVersion(f"wire version v={version!r} is not supported; this build speaks v={WIRE_VERSION}")
    return obj


def describe_validation_error(exc: msgspec.ValidationError) -> str:
    """``field seq: expected int >= 0``: where and why, never the value (it may be a key)."""
    found = problem(exc)
    return f"field {found.path or '(message)'}: {found.reason}"


def _convert(obj: dict[str, Any], model: type[_Message]) -> _Message:
    try:
        return convert(obj, model)
    except msgspec.ValidationError as exc:
        raise SchemaError(describe_validation_error(exc)) from exc


def decode_up(topic: str, payload: bytes) -> tuple[Topic, UpMessage]:
    """Decode an agent → hub message and check that its topic and payload agree."""
    parsed = parse_topic(topic)
    if parsed.kind not in UP_KINDS:
        raise TopicError(f"topic {topic!r} is a hub → agent topic; agents do not publish {parsed.kind!r}")
    obj = _load_object(payload)
    kind = obj.get("type")
    if kind is None:
        raise SchemaError("field type: missing (the message type)")
    model = UP_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise SchemaError(f"field type: {kind!r} is not an agent → hub message ({', '.join(UP_MODELS)})")
    message: UpMessage = _convert(obj, model)
    if message.type != parsed.kind:
        raise IdentityMismatch(f"payload type {message.type!r} published on a {parsed.kind!r} topic")
    if message.agent != parsed.path.agent_id:
        raise IdentityMismatch(
            f"payload agent {message.agent!r} published under topic prefix of {parsed.path.agent_id!r}"
        )
    return parsed, message


def decode_command(payload: bytes) -> Command:
    return _convert(_load_object(payload), Command)


def decode_calendar(payload: bytes) -> AgentCalendar:
    return _convert(_load_object(payload), AgentCalendar)


def decode_roster(payload: bytes) -> AgentRoster:
    return _convert(_load_object(payload), AgentRoster)


def decode_ack(payload: bytes) -> Ack:
    ack = _convert(_load_object(payload), Ack)
    for lo, hi in ack.ranges:
        if lo > hi:
            raise SchemaError(f"field ranges: [{lo}, {hi}] runs backwards")
    return ack
