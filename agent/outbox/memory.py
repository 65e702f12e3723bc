"""An in-memory outbox with the same contract as the SQLite one: the seam for unit tests."""

from __future__ import annotations

from collections.abc import Sequence

from agent.outbox.base import OutboxStats, Priority, Record, Thinned, group_runs, thin_batch_size, within_bytes


class MemoryOutbox:
    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._records: dict[int, Record] = {}
        self._next = 1
        self._thinned_total = 0

    def append(self, record: Record) -> list[Thinned]:
        self._records[self._next] = record
        self._next += 1
        if len(self._records) <= self.capacity:
            return []
        victims = [pos for pos, r in self._records.items() if r.priority is Priority.PERIODIC]
        victims = victims[: thin_batch_size(self.capacity)]
        dropped = [(self._records[p].boot, self._records[p].seq, self._records[p].created) for p in victims]
        for pos in victims:
            del self._records[pos]
        self._thinned_total += len(victims)
        return group_runs(dropped)

    def pending(self, after: int = 0, limit: int = 500, max_bytes: int | None = None) -> list[tuple[int, Record]]:
        out = [(pos, r) for pos, r in self._records.items() if pos > after]
        return within_bytes(out[:limit], max_bytes)

    def confirm(self, boot: str, ranges: Sequence[tuple[int, int]]) -> int:
        gone = [
            pos for pos, r in self._records.items() if r.boot == boot and any(lo <= r.seq <= hi for lo, hi in ranges)
        ]
        for pos in gone:
            del self._records[pos]
        return len(gone)

    def stats(self) -> OutboxStats:
        oldest = min((r.created for r in self._records.values()), default=None)
        return OutboxStats(len(self._records), self.capacity, oldest, self._thinned_total)

    def high_water(self) -> int:
        return self._next - 1

    def close(self) -> None:
        self._records.clear()
