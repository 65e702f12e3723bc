"""Which (agent, boot, seq) a committed batch confirms to the agents: pure, no I/O.

The agent deletes a record from its outbox only when the hub confirms it, so every message that
reached the database is confirmed — stored, a duplicate of one already stored, or quarantined (the
quarantine row *is* its durable home; resending it would only quarantine it again).  Deaths are the
broker's, not the outbox's, and are not confirmed.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence

from hub.store.records import Accepted, Item, Rejected
from protocol.errors import ProtocolError
from protocol.messages import BOOT_PATTERN, Death
from protocol.topics import parse_topic

SeqRanges = list[tuple[int, int]]
_BOOT = re.compile(BOOT_PATTERN)


def seq_ranges(seqs: Iterable[int]) -> SeqRanges:
    """Fold sequence numbers into sorted inclusive ranges: {1, 2, 3, 7} → [(1, 3), (7, 7)]."""
    ranges: SeqRanges = []
    for seq in sorted(set(seqs)):
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def _rejected_key(item: Rejected) -> tuple[str, str, int] | None:
    """Best effort: a quarantined message is confirmable if its topic and its boot/seq can be read."""
    try:
        agent = parse_topic(item.topic).path.agent_id
        doc = json.loads(item.payload)
    except (ProtocolError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("type") == "death":
        return None
    boot, seq = doc.get("boot"), doc.get("seq")
    if not isinstance(boot, str) or not _BOOT.fullmatch(boot) or type(seq) is not int or seq < 0:
        return None
    return agent, boot, seq


def confirmations(items: Sequence[Item]) -> dict[tuple[str, str], SeqRanges]:
    by_boot: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for item in items:
        if isinstance(item, Accepted):
            message = item.message
            if not isinstance(message, Death):
                by_boot[(message.agent, message.boot)].add(message.seq)
        else:
            key = _rejected_key(item)
            if key is not None:
                by_boot[(key[0], key[1])].add(key[2])
    return {key: seq_ranges(seqs) for key, seqs in by_boot.items()}
