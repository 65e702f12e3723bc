"""Round trips, typed decode errors and the exported JSON Schema of wire version 1."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from protocol.codec import decode_ack, decode_command, decode_up, encode
from protocol.errors import IdentityMismatch, PayloadError, SchemaError, TopicError, UnsupportedVersion
from protocol.examples import examples
from protocol.messages import Command, Heartbeat
from protocol.schema_export import README, SCHEMA_DIR, examples_section, render, schemas
from protocol.topics import AgentPath, parse_topic, topic_for, up_subscriptions

PATH = AgentPath("jinan", "s01", "a1")
UP_KINDS = ["birth", "death", "heartbeat", "state", "event", "snapshot"]


@pytest.mark.parametrize("kind", UP_KINDS)
def test_every_up_message_round_trips(kind: str) -> None:
    message = examples()[kind]
    topic, decoded = decode_up(topic_for(PATH, kind), encode(message))  # type: ignore[arg-type]
    assert decoded == message
    assert topic.path == PATH
    assert topic.kind == kind


def test_command_round_trips() -> None:
    command = examples()["command"]
    assert decode_command(encode(command)) == command


@pytest.mark.parametrize("kind", [*UP_KINDS, "command", "ack"])
def test_exported_schema_validates_the_example(kind: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{kind}.v1.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(json.loads(encode(examples()[kind])), schema)


@pytest.mark.parametrize("kind", [*UP_KINDS, "command", "ack"])
def test_exported_schema_rejects_an_unknown_field(kind: str) -> None:
    schema = json.loads((SCHEMA_DIR / f"{kind}.v1.json").read_text(encoding="utf-8"))
    doc = json.loads(encode(examples()[kind]))
    doc["surprise"] = 1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_committed_schema_files_match_the_models() -> None:
    for name, schema in schemas().items():
        committed = (SCHEMA_DIR / name).read_text(encoding="utf-8")
        assert committed == render(schema), f"{name} is stale: run python -m protocol.schema_export"


def _heartbeat(**override: Any) -> bytes:
    doc = json.loads(encode(examples()["heartbeat"]))
    doc.update(override)
    return json.dumps(doc).encode()


HB_TOPIC = topic_for(PATH, "heartbeat")


@pytest.mark.parametrize(
    ("payload", "error", "says"),
    [
        (b"\xff\xfe", PayloadError, "not UTF-8"),
        (b"{not json", PayloadError, "not JSON"),
        (b"[1, 2]", PayloadError, "expected an object"),
        (b'{"type": "heartbeat"}', SchemaError, "field v: missing"),
        (_heartbeat(v=2), UnsupportedVersion, "v=2"),
        (_heartbeat(seq=-1), SchemaError, "field heartbeat.seq"),
        (_heartbeat(ts="2026-05-17T08:30:00"), SchemaError, "field heartbeat.ts"),
        (_heartbeat(boot="XYZ"), SchemaError, "field heartbeat.boot"),
        (_heartbeat(type="telemetry"), SchemaError, "'telemetry'"),
        (_heartbeat(agent="qingdao/s02/a1"), IdentityMismatch, "qingdao/s02/a1"),
        (encode(examples()["event"]), IdentityMismatch, "'event' published on a 'heartbeat'"),
        (b"x" * (256 * 1024 + 1), PayloadError, "limit"),
    ],
)
def test_bad_payloads_raise_a_typed_error_that_says_what_is_wrong(
    payload: bytes, error: type[Exception], says: str
) -> None:
    with pytest.raises(error, match=None) as info:
        decode_up(HB_TOPIC, payload)
    assert says in str(info.value)
    assert info.value.code  # type: ignore[attr-defined]  # every ProtocolError has a code for the quarantine


@pytest.mark.parametrize(
    ("topic", "says"),
    [
        ("sw/v1/jinan/s01/heartbeat", "6 levels"),
        ("xx/v1/jinan/s01/a1/heartbeat", "does not start"),
        ("sw/v2/jinan/s01/a1/heartbeat", "version 'v2'"),
        ("sw/v1/jinan/s01/a1/telemetry", "unknown kind"),
        ("sw/v1/Jinan/s01/a1/heartbeat", "city 'Jinan'"),
        ("sw/v1/jinan/s+/a1/heartbeat", "site 's+'"),
        ("sw/v1/jinan/s01/a1/command", "hub → agent"),
    ],
)
def test_bad_topics_are_rejected(topic: str, says: str) -> None:
    with pytest.raises(TopicError) as info:
        decode_up(topic, encode(examples()["heartbeat"]))
    assert says in str(info.value)


def test_topic_builder_and_parser_agree() -> None:
    topic = topic_for(PATH, "state")
    assert topic == "sw/v1/jinan/s01/a1/state"
    assert parse_topic(topic).path.agent_id == "jinan/s01/a1"
    filters = up_subscriptions()
    assert "sw/v1/+/+/+/heartbeat" in filters
    assert len(filters) == 6
    assert not any(f.endswith(("/ack", "/command")) for f in filters)


def test_naive_device_time_is_rejected_when_building() -> None:
    with pytest.raises(ValidationError):
        Heartbeat(agent="jinan/s01/a1", boot="abcdef12", seq=1, ts=datetime(2026, 5, 17), uptime_s=1.0)


def test_ack_round_trips_and_rejects_backward_ranges() -> None:
    ack = examples()["ack"]
    assert decode_ack(encode(ack)) == ack
    doc = json.loads(encode(ack))
    doc["ranges"] = [[5, 3]]
    with pytest.raises(SchemaError, match="backwards"):
        decode_ack(json.dumps(doc).encode())


def test_command_rejects_unknown_fields() -> None:
    doc = json.loads(encode(examples()["command"]))
    doc["extra"] = True
    with pytest.raises(SchemaError):
        decode_command(json.dumps(doc).encode())
    assert isinstance(examples()["command"], Command)


def test_readme_examples_are_the_current_ones() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme.endswith(examples_section()), "stale examples: run python -m protocol.schema_export"
    assert readme.count("```json") == len(examples())
