"""Round trips, typed decode errors and the exported JSON Schema of wire version 1."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import jsonschema
import msgspec
import pytest

from protocol.codec import decode_ack, decode_command, decode_roster, decode_up, encode
from protocol.errors import IdentityMismatch, PayloadError, SchemaError, TopicError, UnsupportedVersion
from protocol.examples import examples
from protocol.messages import UP_MODELS, AgentRoster, Command, Event, Heartbeat
from protocol.schema_export import README, SCHEMA_DIR, examples_section, render, schemas
from protocol.topics import UP_KINDS as TOPIC_UP_KINDS
from protocol.topics import AgentPath, parse_topic, topic_for, up_subscriptions
from protocol.validation import checked

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
    text = (SCHEMA_DIR / f"{kind}.v1.json").read_text(encoding="utf-8")
    assert "\\Z" not in text, "patterns are exported in their ECMA-262 form"
    schema = json.loads(text)
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
        (_heartbeat(seq=-1), SchemaError, "field seq: expected int >= 0"),
        (_heartbeat(seq=2**63), SchemaError, "field seq: expected int <= 9223372036854775807"),
        (_heartbeat(ts="2026-05-17T08:30:00"), SchemaError, "field ts: expected datetime with a timezone"),
        (_heartbeat(boot="XYZ"), SchemaError, "field boot: expected str matching regex '^[0-9a-f]{8,64}$'"),
        (_heartbeat(boot="abcdef12\n"), SchemaError, "field boot"),
        (_heartbeat(agent="jinan/s01/a1\n"), SchemaError, "field agent"),
        (_heartbeat(surprise=1), SchemaError, "field surprise: unknown key"),
        (_heartbeat(uptime_s=None), SchemaError, "field uptime_s: expected float, got null"),
        (_heartbeat(type="telemetry"), SchemaError, "'telemetry'"),
        (_heartbeat(type="command"), SchemaError, "'command'"),
        (_heartbeat(type=None), SchemaError, "field type: missing"),
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


def test_a_required_field_missing_is_named() -> None:
    doc = json.loads(encode(examples()["heartbeat"]))
    del doc["uptime_s"]
    with pytest.raises(SchemaError, match=r"^field uptime_s: field required$"):
        decode_up(HB_TOPIC, json.dumps(doc).encode())


def test_values_must_have_their_json_type() -> None:
    # Strict, as the exported schema says: no number in a string, no float for an int, no number for a time.
    for override in ({"seq": "5"}, {"seq": 5.0}, {"historical": 1}, {"ts": 1779000000}, {"uptime_s": "1.5"}):
        with pytest.raises(SchemaError):
            decode_up(HB_TOPIC, _heartbeat(**override))
    _topic, decoded = decode_up(HB_TOPIC, _heartbeat(uptime_s=85))  # an integer is a number
    assert isinstance(decoded, Heartbeat)
    assert decoded.uptime_s == 85.0


def test_every_agent_kind_has_its_model() -> None:
    assert set(UP_MODELS) == TOPIC_UP_KINDS
    assert all(model.__struct_fields__.count("type") == 1 for model in UP_MODELS.values())


def test_naive_device_time_is_rejected_when_checked_and_never_encoded() -> None:
    naive = Heartbeat(agent="jinan/s01/a1", boot="abcdef12", seq=1, ts=datetime(2026, 5, 17), uptime_s=1.0)
    with pytest.raises(msgspec.ValidationError, match="timezone"):
        checked(naive)
    with pytest.raises(SchemaError, match="cannot encode this heartbeat: field ts: expected datetime with a timezone"):
        encode(naive)


def test_a_message_built_in_code_is_checked_before_it_is_encoded() -> None:
    bad = msgspec.structs.replace(examples()["heartbeat"], seq=-1)
    with pytest.raises(SchemaError, match="field seq: expected int >= 0") as info:
        encode(bad)
    assert isinstance(info.value.__cause__, msgspec.ValidationError)
    # Ints given for floats are encoded as the floats the model holds, as the old encoder did.
    whole = msgspec.structs.replace(examples()["heartbeat"], uptime_s=85)
    assert b'"uptime_s":85.0' in encode(whole)


def test_the_roster_key_is_in_no_repr() -> None:
    roster = examples()["roster"]
    assert isinstance(roster, AgentRoster)
    for shown in (
        repr(roster),
        str(roster),
        f"{roster}",
        f"{roster!r}",
        repr([roster]),
        repr(decode_roster(encode(roster))),
    ):
        assert roster.key not in shown
        assert roster.key_id in shown
    assert "key" not in dict(roster.__rich_repr__())  # what rich (and so a pretty traceback) would show
    assert roster.key in encode(roster).decode(), "the key itself does travel, on the agent's own topic"


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


# Bytes the pydantic encoder of wire v1 produced for these messages (recorded before the move to msgspec):
# an offset and microseconds kept, an int given for a float sent as a float, non-ASCII text as UTF-8.
OLD_HEARTBEAT = (
    b'{"v":1,"agent":"jinan/s01/a1","boot":"5f0c2a9e4b7d4e1c","seq":17,"ts":"2026-05-17T08:30:00.123456+08:00",'
    b'"historical":true,"type":"heartbeat","uptime_s":85.0,"outbox_depth":3,"outbox_oldest_s":null,'
    b'"outbox_capacity":null,"calendar_version":null}'
)
OLD_EVENT = (
    b'{"v":1,"agent":"jinan/s01/a1","boot":"5f0c2a9e4b7d4e1c","seq":19,"ts":"2026-05-17T00:30:00Z","historical":false,'
    b'"type":"event","name":"vault.entry","severity":"info","device":null,'
    b'"details":{"people":2,"fps":2.0,"who":"\xe5\x90\x8d","ok":true,"none":null}}'
)


def test_the_wire_bytes_are_those_of_the_previous_encoder() -> None:
    heartbeat = Heartbeat(
        agent="jinan/s01/a1",
        boot="5f0c2a9e4b7d4e1c",
        seq=17,
        ts=datetime(2026, 5, 17, 8, 30, 0, 123456, tzinfo=ZoneInfo("Asia/Shanghai")),
        uptime_s=85,
        outbox_depth=3,
        historical=True,
    )
    event = Event(
        agent="jinan/s01/a1",
        boot="5f0c2a9e4b7d4e1c",
        seq=19,
        ts=datetime(2026, 5, 17, 0, 30, tzinfo=UTC),
        name="vault.entry",
        severity="info",
        details={"people": 2, "fps": 2.0, "who": "名", "ok": True, "none": None},
    )
    assert encode(heartbeat) == OLD_HEARTBEAT
    assert encode(event) == OLD_EVENT
    _topic, decoded = decode_up(HB_TOPIC, OLD_HEARTBEAT)
    assert decoded == heartbeat
    assert decoded.ts.utcoffset() == timedelta(hours=8)
    _topic, decoded_event = decode_up(topic_for(PATH, "event"), OLD_EVENT)
    assert decoded_event == event
    assert isinstance(decoded_event, Event)
    assert type(decoded_event.details["fps"]) is float
    assert type(decoded_event.details["people"]) is int
