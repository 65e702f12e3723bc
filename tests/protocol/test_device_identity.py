"""A device's ``identity`` in the birth: the hardware's own id (an ID-card reader's SAM id), optional."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import jsonschema
import msgspec
import pytest

from protocol.codec import decode_up, encode
from protocol.errors import SchemaError
from protocol.messages import Birth, DeviceInfo
from protocol.schema_export import SCHEMA_DIR
from protocol.validation import checked

T = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)
SAM = "05.01-20240517-0000012345-0123456789"


def birth(*devices: DeviceInfo, seq: int = 0) -> Birth:
    return Birth(agent="jinan/s01/a1", boot="0123456789abcdef", seq=seq, ts=T, sw_version="1.0",
                 started_at=T, heartbeat_s=5.0, devices=list(devices))  # fmt: skip


def reader(identity: str | None) -> DeviceInfo:
    return DeviceInfo(kind="idcard", id="reader-101", driver="idcard-sam", room="101", identity=identity)


@pytest.mark.parametrize("identity", [SAM, "0501deadbeef", "a", "x" * 64, "usb:1a86/7523+1"])
def test_an_identity_round_trips_and_fits_the_exported_schema(identity: str) -> None:
    message = birth(reader(identity), seq=7)
    _topic, decoded = decode_up("sw/v1/jinan/s01/a1/birth", encode(message))
    assert decoded == message
    assert isinstance(decoded, Birth)
    assert decoded.devices[0].identity == identity
    schema = json.loads((SCHEMA_DIR / "birth.v1.json").read_text(encoding="utf-8"))
    jsonschema.validate(json.loads(encode(message)), schema)


@pytest.mark.parametrize("identity", ["", " 05.01", "SAM 05.01", "x" * 65, "-leading-dash", "名字", "a\nb"])
def test_an_identity_that_is_not_a_short_printable_token_is_refused(identity: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=r"devices\[0\]\.identity"):
        checked(birth(reader(identity)))
    # The hub refuses it too, and the exported schema agrees.
    doc = json.loads(encode(birth(reader(None))))
    doc["devices"][0]["identity"] = identity
    with pytest.raises(SchemaError):
        decode_up("sw/v1/jinan/s01/a1/birth", json.dumps(doc).encode())
    schema = json.loads((SCHEMA_DIR / "birth.v1.json").read_text(encoding="utf-8"))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, schema)


def test_a_birth_from_an_agent_that_never_heard_of_identity_still_decodes() -> None:
    doc = json.loads(encode(birth(reader(SAM))))
    del doc["devices"][0]["identity"]
    _topic, decoded = decode_up("sw/v1/jinan/s01/a1/birth", json.dumps(doc).encode())
    assert isinstance(decoded, Birth)
    assert decoded.devices[0].identity is None


def test_an_identity_with_a_trailing_newline_is_refused() -> None:
    # Python's "$" also matches before a final newline; the models anchor with \Z.  (The exported schema's "$" is
    # ECMA-262's, the end of input; the jsonschema package applies it with Python's re, so it is not asked here.)
    with pytest.raises(msgspec.ValidationError, match=r"devices\[0\]\.identity"):
        checked(birth(reader("05.01\n")))
    doc = json.loads(encode(birth(reader(None))))
    doc["devices"][0]["identity"] = "05.01\n"
    with pytest.raises(SchemaError, match=r"field devices\[0\]\.identity"):
        decode_up("sw/v1/jinan/s01/a1/birth", json.dumps(doc).encode())
