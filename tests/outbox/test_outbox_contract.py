"""One contract suite for both outboxes (Telegraf's buffer_suite_test idea): memory and SQLite alike."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.outbox import MemoryOutbox, Outbox, Priority, Record, SqliteOutbox
from agent.outbox.sqlite import CACHE_KIB


@pytest.fixture(params=["memory", "sqlite"])
def make_outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[type]:
    made: list[Outbox] = []

    def make(capacity: int = 1000) -> Outbox:
        box: Outbox = MemoryOutbox(capacity) if request.param == "memory" else SqliteOutbox(tmp_path / "o.db", capacity)
        made.append(box)
        return box

    yield make  # type: ignore[misc]
    for box in made:
        box.close()


def rec(seq: int, priority: Priority = Priority.PERIODIC, boot: str = "b1") -> Record:
    return Record(boot, seq, f"sw/v1/c/s/a/{seq}", f"payload-{seq}".encode(), priority, 1000.0 + seq)


def test_records_come_back_in_production_order(make_outbox) -> None:  # type: ignore[no-untyped-def]
    box = make_outbox()
    for seq in range(5):
        box.append(rec(seq))
    got = box.pending()
    assert [r.seq for _, r in got] == [0, 1, 2, 3, 4]
    assert got[2][1].payload == b"payload-2"
    after = got[1][0]
    assert [r.seq for _, r in box.pending(after=after, limit=2)] == [2, 3]


def test_a_byte_budget_bounds_a_batch_but_never_stalls_it(make_outbox) -> None:  # type: ignore[no-untyped-def]
    box = make_outbox()
    sizes = [100, 100, 100, 5000, 10]
    for seq, size in enumerate(sizes):
        box.append(Record("b1", seq, "t", bytes(size), Priority.KEEP, 1.0))
    assert [r.seq for _, r in box.pending(max_bytes=300)] == [0, 1, 2]
    assert [r.seq for _, r in box.pending(max_bytes=299)] == [0, 1]
    first = box.pending(max_bytes=300)
    # A record larger than the whole budget still goes, alone: the queue must never stall on it.
    big = box.pending(after=first[-1][0], max_bytes=300)
    assert [r.seq for _, r in big] == [3]
    assert [r.seq for _, r in box.pending(after=big[0][0], max_bytes=300)] == [4]
    assert [r.seq for _, r in box.pending(limit=2, max_bytes=10_000)] == [0, 1], "the count limit still holds"
    assert len(box.pending()) == 5, "no budget: all of them"


def test_confirm_deletes_exactly_the_ranges_of_that_boot(make_outbox) -> None:  # type: ignore[no-untyped-def]
    box = make_outbox()
    for seq in range(10):
        box.append(rec(seq, boot="b1"))
    for seq in range(3):
        box.append(rec(seq, boot="b2"))
    assert box.confirm("b1", [(0, 2), (5, 5)]) == 4
    assert box.confirm("b1", [(0, 2)]) == 0  # a repeated ack deletes nothing more
    left = [(r.boot, r.seq) for _, r in box.pending()]
    assert left == [("b1", 3), ("b1", 4), ("b1", 6), ("b1", 7), ("b1", 8), ("b1", 9), ("b2", 0), ("b2", 1), ("b2", 2)]
    assert box.stats().depth == 9


def test_past_capacity_only_periodic_records_are_thinned_and_reported(make_outbox) -> None:  # type: ignore[no-untyped-def]
    box = make_outbox(capacity=20)
    reports = []
    for seq in range(40):
        prio = Priority.KEEP if seq % 4 == 0 else Priority.PERIODIC
        reports += box.append(rec(seq, prio))
    kept = [r for _, r in box.pending(limit=1000)]
    assert all(r.seq % 4 != 0 or r.priority is Priority.KEEP for r in kept)
    assert {r.seq for r in kept if r.priority is Priority.KEEP} == set(range(0, 40, 4))  # no event ever dropped
    assert len(kept) <= 20
    dropped = sum(t.count for t in reports)
    assert dropped == 40 - len(kept)
    assert box.stats().thinned_total == dropped
    assert reports[0].first_seq == 1  # the oldest periodic reading goes first
    assert all(t.first_created <= t.last_created for t in reports)


def test_keep_records_are_never_dropped_even_past_capacity(make_outbox) -> None:  # type: ignore[no-untyped-def]
    box = make_outbox(capacity=5)
    for seq in range(12):
        assert box.append(rec(seq, Priority.KEEP)) == []
    assert box.stats().depth == 12
    assert box.stats().fill > 2


def test_stats_report_depth_and_oldest(make_outbox) -> None:  # type: ignore[no-untyped-def]
    box = make_outbox()
    assert box.stats().depth == 0
    assert box.stats().oldest_created is None
    box.append(rec(3))
    box.append(rec(4))
    assert box.stats().oldest_created == 1003.0
    assert box.stats().depth == 2


def test_high_water_is_the_newest_position_even_after_confirm(make_outbox) -> None:  # type: ignore[no-untyped-def]
    box = make_outbox()
    assert box.high_water() == 0
    for seq in range(3):
        box.append(rec(seq))
    top = box.high_water()
    assert top == box.pending()[-1][0]
    box.confirm("b1", [(0, 2)])
    assert box.high_water() == top
    box.append(rec(3))
    assert box.high_water() > top


def test_sqlite_outbox_survives_kill_9(tmp_path: Path) -> None:
    """A child process appends and is killed with SIGKILL: every append it reported is still there."""
    db = tmp_path / "o.db"
    code = f"""
import sys
from agent.outbox import SqliteOutbox, Record, Priority
box = SqliteOutbox(__import__('pathlib').Path({str(db)!r}))
for seq in range(200):
    box.append(Record('b1', seq, 't', b'x', Priority.KEEP, 1.0))
    print(seq, flush=True)
import os, signal
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == -9
    reported = [int(x) for x in proc.stdout.split()]
    box = SqliteOutbox(db)
    assert [r.seq for _, r in box.pending(limit=1000)] == reported == list(range(200))
    assert box.stats().depth == 200
    box.close()
    assert os.path.exists(db)


def test_sqlite_outbox_keeps_its_page_cache_small(tmp_path: Path) -> None:
    box = SqliteOutbox(tmp_path / "o.db")
    try:
        # Negative: KiB.  SQLite's own default is 2 MiB, a quarter of a camera's whole budget.
        assert box._db.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB == -512
    finally:
        box.close()
