"""What an outbox is: records, priorities, the thinning report and the interface both stores implement."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from agent.errors import AgentError


class OutboxError(AgentError):
    """The outbox's storage failed: the message could not be made durable (or confirmed)."""


class Priority(enum.IntEnum):
    """KEEP records (birth, events, state changes) are never dropped; PERIODIC ones may be thinned."""

    KEEP = 0
    PERIODIC = 1


@dataclass(frozen=True, slots=True)
class Record:
    boot: str
    seq: int
    topic: str
    payload: bytes
    priority: Priority
    created: float  # wall-clock seconds since the epoch, for the age reported in heartbeats
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Thinned:
    """Periodic records dropped to stay within the bound: reported to the hub as a gap record."""

    boot: str
    first_seq: int
    last_seq: int
    count: int
    first_created: float
    last_created: float


@dataclass(frozen=True, slots=True)
class OutboxStats:
    depth: int
    capacity: int
    oldest_created: float | None
    thinned_total: int

    @property
    def fill(self) -> float:
        return self.depth / self.capacity if self.capacity else 0.0


class Outbox(Protocol):
    capacity: int

    def append(self, record: Record) -> list[Thinned]:
        """Store a record durably; when the bound is passed, thin the oldest periodic records."""
        ...

    def pending(self, after: int = 0, limit: int = 500, max_bytes: int | None = None) -> list[tuple[int, Record]]:
        """Records in production order with a position greater than ``after``, as (position, record): at
        most ``limit``, and with ``max_bytes``, no more than fit in that many payload bytes (but always the
        first, however large)."""
        ...

    def confirm(self, boot: str, ranges: Sequence[tuple[int, int]]) -> int:
        """Delete the records of ``boot`` whose seq falls in any inclusive range; return how many."""
        ...

    def stats(self) -> OutboxStats: ...

    def high_water(self) -> int:
        """The position of the newest record ever stored (0 for none): replay marks what lies at or below it."""
        ...

    def close(self) -> None: ...


def thin_batch_size(capacity: int) -> int:
    """Thin a tenth of the capacity at a time so thinning is rare and each gap record covers a real span."""
    return max(1, capacity // 10)


def within_bytes(records: Iterable[tuple[int, Record]], max_bytes: int | None) -> list[tuple[int, Record]]:
    """The leading ``records`` whose payloads fit in ``max_bytes`` together (at least the first); consumes
    ``records`` only as far as it takes."""
    out: list[tuple[int, Record]] = []
    total = 0
    for pos, record in records:
        total += len(record.payload)
        if out and max_bytes is not None and total > max_bytes:
            break
        out.append((pos, record))
    return out


def group_runs(boot_seq_created: Sequence[tuple[str, int, float]]) -> list[Thinned]:
    """Fold dropped (boot, seq, created) triples, in production order, into one report per boot."""
    reports: list[Thinned] = []
    for boot, seq, created in boot_seq_created:
        last = reports[-1] if reports else None
        if last is not None and last.boot == boot:
            reports[-1] = Thinned(boot, last.first_seq, seq, last.count + 1, last.first_created, created)
        else:
            reports.append(Thinned(boot, seq, seq, 1, created, created))
    return reports
