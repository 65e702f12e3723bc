"""The hash chain, pure: the canonical form of an audit row, its hash, and the walk that finds the first
broken link.

Each sealed row has ``seq`` (1, 2, 3 … with no holes), ``prev_hash`` (the previous row's ``hash``; the
first row's is 64 zeros) and ``hash = sha256(canonical JSON of the row's content, seq and prev_hash)``.
Editing a row changes its hash; deleting one leaves a hole in ``seq`` and a ``prev_hash`` that no longer
matches; inserting one in the middle needs every later hash recomputed.  (Someone able to rewrite the
whole table could recompute everything; the head hash is therefore worth keeping elsewhere too.)

``user_id`` is not hashed: deleting a user sets it to NULL by design; the name is hashed instead.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

GENESIS: Final = "0" * 64


@dataclass(frozen=True, slots=True)
class Link:
    """One sealed row as stored."""

    id: int
    seq: int
    at: datetime
    username: str
    action: str
    outcome: str
    target: str
    client: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


def canonical(
    *,
    seq: int,
    prev_hash: str,
    at: datetime,
    username: str,
    action: str,
    outcome: str,
    target: str,
    client: str,
    details: Mapping[str, Any],
) -> bytes:
    body = {
        "seq": seq,
        "prev": prev_hash,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "username": username,
        "action": action,
        "outcome": outcome,
        "target": target,
        "client": client,
        "details": details,
    }
    return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def link_hash(
    *,
    seq: int,
    prev_hash: str,
    at: datetime,
    username: str,
    action: str,
    outcome: str,
    target: str,
    client: str,
    details: Mapping[str, Any],
) -> str:
    data = canonical(
        seq=seq,
        prev_hash=prev_hash,
        at=at,
        username=username,
        action=action,
        outcome=outcome,
        target=target,
        client=client,
        details=details,
    )
    return hashlib.sha256(data).hexdigest()


def expected_hash(link: Link) -> str:
    return link_hash(
        seq=link.seq,
        prev_hash=link.prev_hash,
        at=link.at,
        username=link.username,
        action=link.action,
        outcome=link.outcome,
        target=link.target,
        client=link.client,
        details=link.details,
    )


@dataclass(frozen=True, slots=True)
class Broken:
    """The first link that does not hold, and why."""

    id: int | None
    seq: int
    reason: str

    def describe(self) -> str:
        row = f"row id {self.id}" if self.id is not None else "a row"
        return f"audit chain broken at seq {self.seq} ({row}): {self.reason}"


@dataclass(frozen=True, slots=True)
class Verdict:
    checked: int
    head_seq: int
    head_hash: str
    broken: Broken | None

    @property
    def intact(self) -> bool:
        return self.broken is None


def verify(links: Iterable[Link]) -> Verdict:
    """Walk the links in ``seq`` order; stop at the first that does not hold."""
    prev, expected_seq, checked = GENESIS, 1, 0
    for link in links:
        if link.seq != expected_seq:
            missing = f"seq {expected_seq}" if link.seq == expected_seq + 1 else f"seqs {expected_seq}–{link.seq - 1}"
            return Verdict(
                checked, expected_seq - 1, prev, Broken(link.id, expected_seq, f"{missing} missing (a row was deleted)")
            )
        if link.prev_hash != prev:
            return Verdict(
                checked,
                link.seq - 1,
                prev,
                Broken(link.id, link.seq, "prev_hash does not match the previous row's hash"),
            )
        if expected_hash(link) != link.hash:
            return Verdict(
                checked,
                link.seq - 1,
                prev,
                Broken(link.id, link.seq, "content does not match its hash (the row was edited)"),
            )
        prev, expected_seq, checked = link.hash, link.seq + 1, checked + 1
    return Verdict(checked, expected_seq - 1, prev, None)
