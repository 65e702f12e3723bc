"""Which (agent, boot, seq) a committed batch confirms to the agents: pure, no I/O.

The agent deletes a record from its outbox only when the hub confirms it, so every message that
reached the database is confirmed — stored, a duplicate of one already stored, or quarantined (the
quarantine row *is* its durable home; resending it would only quarantine it again).  Deaths are the
broker's, not the outbox's, and are not confirmed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from hub.store.records import Accepted, Item
from protocol.messages import Death

SeqRanges = list[tuple[int, int]]


def seq_ranges(seqs: Iterable[int]) -> SeqRanges:
    """Fold sequence numbers into sorted inclusive ranges: {1, 2, 3, 7} → [(1, 3), (7, 7)]."""
    ranges: SeqRanges = []
    for seq in sorted(set(seqs)):
        if ranges and ranges[-1][1] == seq - 1:
            ranges[-1] = (ranges[-1][0], seq)
        else:
            ranges.append((seq, seq))
    return ranges


def confirmations(items: Sequence[Item]) -> dict[tuple[str, str], SeqRanges]:
    by_boot: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for item in items:
        if isinstance(item, Accepted):
            message = item.message
            if not isinstance(message, Death):
                by_boot[(message.agent, message.boot)].add(message.seq)
        elif item.key is not None:
            agent, boot, seq = item.key
            by_boot[(agent, boot)].add(seq)
    return {key: seq_ranges(seqs) for key, seqs in by_boot.items()}
