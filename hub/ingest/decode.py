"""Raw inbound messages → store items: accepted typed messages, or quarantine with the reason."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence

from hub.ingest.inbound import Inbound
from hub.store.records import Accepted, Item, MessageKey, Rejected
from protocol.codec import decode_up
from protocol.errors import ProtocolError
from protocol.messages import BOOT_PATTERN
from protocol.topics import DOWN_KINDS, parse_topic

log = logging.getLogger("sitewatch.hub.ingest")

# Not a protocol code: the decoder itself failed.  Quarantined so the message is kept and visible.
DECODER_FAILED = "decoder_failed"


_BOOT = re.compile(BOOT_PATTERN)


def claimed_key(topic: str, payload: bytes) -> MessageKey | None:
    """Best effort for a refused message: the (agent, boot, seq) it claims, if topic and JSON are readable.

    The agent comes from the topic, which the broker's ACL ties to the sender's identity; deaths are the
    broker's messages, not the outbox's, and carry no key of their own.
    """
    try:
        agent = parse_topic(topic).path.agent_id
        doc = json.loads(payload)
    except (ProtocolError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("type") == "death":
        return None
    boot, seq = doc.get("boot"), doc.get("seq")
    if not isinstance(boot, str) or not _BOOT.fullmatch(boot) or type(seq) is not int or seq < 0:
        return None
    return agent, boot, seq


def decode(inbound: Inbound) -> Item:
    try:
        _topic, message = decode_up(inbound.topic, inbound.payload)
    except ProtocolError as exc:
        key = claimed_key(inbound.topic, inbound.payload)
        return Rejected(inbound.topic, inbound.payload, inbound.received_at, exc.code, str(exc), key)
    except Exception as exc:  # a decoder bug must cost one message, not the writer thread
        log.exception("decoding a message on %s failed unexpectedly", inbound.topic)
        return Rejected(inbound.topic, inbound.payload, inbound.received_at, DECODER_FAILED, repr(exc))
    return Accepted(message, inbound.received_at, inbound.retained)


def is_downlink(topic: str) -> bool:
    """A hub → agent message (our own acks and commands, or another hub's) that the wildcard matched."""
    kind = topic.rsplit("/", 1)[-1]
    return kind in DOWN_KINDS and topic.startswith("sw/v1/")


def decode_batch(batch: Sequence[Inbound]) -> list[Item]:
    return [decode(inbound) for inbound in batch]
