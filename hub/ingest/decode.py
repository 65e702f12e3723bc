"""Raw inbound messages → store items: accepted typed messages, or quarantine with the reason."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from hub.ingest.inbound import Inbound
from hub.store.records import Accepted, Item, Rejected
from protocol.codec import decode_up
from protocol.errors import ProtocolError

log = logging.getLogger("sitewatch.hub.ingest")

# Not a protocol code: the decoder itself failed.  Quarantined so the message is kept and visible.
DECODER_FAILED = "decoder_failed"


def decode(inbound: Inbound) -> Item:
    try:
        _topic, message = decode_up(inbound.topic, inbound.payload)
    except ProtocolError as exc:
        return Rejected(inbound.topic, inbound.payload, inbound.received_at, exc.code, str(exc))
    except Exception as exc:  # a decoder bug must cost one message, not the writer thread
        log.exception("decoding a message on %s failed unexpectedly", inbound.topic)
        return Rejected(inbound.topic, inbound.payload, inbound.received_at, DECODER_FAILED, repr(exc))
    return Accepted(message, inbound.received_at, inbound.retained)


def decode_batch(batch: Sequence[Inbound]) -> list[Item]:
    return [decode(inbound) for inbound in batch]
