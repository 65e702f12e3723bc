"""Errors raised while decoding the wire contract.

    ProtocolError
     ├── TopicError            the topic is not ``sw/v1/<city>/<site>/<agent>/<kind>``
     ├── PayloadError          the bytes are not UTF-8 JSON of an object
     ├── UnsupportedVersion    the payload's ``v`` is one this build does not speak
     ├── SchemaError           the JSON does not match the message model
     └── IdentityMismatch      the payload names another agent or kind than its topic

Every error carries a short machine ``code`` (stored with quarantined messages and counted by the hub)
and a human message naming the field or the part that is wrong.
"""

from __future__ import annotations


class ProtocolError(Exception):
    code = "protocol"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TopicError(ProtocolError):
    code = "bad_topic"


class PayloadError(ProtocolError):
    code = "bad_payload"


class UnsupportedVersion(ProtocolError):
    code = "unsupported_version"


class SchemaError(ProtocolError):
    code = "schema"


class IdentityMismatch(ProtocolError):
    code = "identity_mismatch"
