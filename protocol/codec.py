"""Bytes ↔ typed messages.  Pure: no sockets, no clocks.

``decode_up(topic, payload)`` is what the hub calls for every message it receives; it either returns a
typed message or raises a :class:`protocol.errors.ProtocolError` subclass whose text names what is
wrong, so the hub can quarantine the message with that reason.
"""

from __future__ import annotations

import json
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from protocol.errors import IdentityMismatch, PayloadError, SchemaError, TopicError, UnsupportedVersion
from protocol.messages import WIRE_VERSION, Ack, AgentCalendar, AgentRoster, Command, UpMessage
from protocol.topics import UP_KINDS, Topic, parse_topic

_Down = TypeVar("_Down", bound=BaseModel)

MAX_PAYLOAD_BYTES = 256 * 1024

_UP_ADAPTER: TypeAdapter[UpMessage] = TypeAdapter(UpMessage)


def encode(message: Any) -> bytes:
    """Serialise any protocol model to compact UTF-8 JSON."""
    data: bytes = message.model_dump_json().encode("utf-8")
    return data


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


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "(message)"
        parts.append(f"field {loc}: {err['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def decode_up(topic: str, payload: bytes) -> tuple[Topic, UpMessage]:
    """Decode an agent → hub message and check that its topic and payload agree."""
    parsed = parse_topic(topic)
    if parsed.kind not in UP_KINDS:
        raise TopicError(f"topic {topic!r} is a hub → agent topic; agents do not publish {parsed.kind!r}")
    obj = _load_object(payload)
    try:
        message = _UP_ADAPTER.validate_python(obj)
    except ValidationError as exc:
        raise SchemaError(describe_validation_error(exc)) from exc
    if message.type != parsed.kind:
        raise IdentityMismatch(f"payload type {message.type!r} published on a {parsed.kind!r} topic")
    if message.agent != parsed.path.agent_id:
        raise IdentityMismatch(
            f"payload agent {message.agent!r} published under topic prefix of {parsed.path.agent_id!r}"
        )
    return parsed, message


def _decode_down(model: type[_Down], payload: bytes) -> _Down:
    obj = _load_object(payload)
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise SchemaError(describe_validation_error(exc)) from exc


def decode_command(payload: bytes) -> Command:
    return _decode_down(Command, payload)


def decode_calendar(payload: bytes) -> AgentCalendar:
    return _decode_down(AgentCalendar, payload)


def decode_roster(payload: bytes) -> AgentRoster:
    return _decode_down(AgentRoster, payload)


def decode_ack(payload: bytes) -> Ack:
    ack = _decode_down(Ack, payload)
    for lo, hi in ack.ranges:
        if lo > hi:
            raise SchemaError(f"field ranges: [{lo}, {hi}] runs backwards")
    return ack
