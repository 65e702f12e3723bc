"""The writer's two stages (decode the next batch while this one is stored): order, commit-then-ack, stop."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from hub.errors import StoreUnavailable
from hub.ingest.inbound import Inbound
from hub.ingest.writer import Writer
from hub.stats import Stats
from hub.store.records import Accepted, BatchResult, Item
from protocol.codec import encode
from protocol.messages import Heartbeat

NOW = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)
AGENT = "jinan/s01/a1"
TOPIC = f"sw/v1/{AGENT}/heartbeat"
ECHO = f"sw/v1/{AGENT}/ack"  # a hub's own confirmation, come back through a shared subscription


def heartbeat(seq: int) -> Inbound:
    message = Heartbeat(agent=AGENT, boot="b1b1b1b1", seq=seq, ts=NOW, uptime_s=1.0)
    return Inbound(TOPIC, encode(message), mid=seq, qos=1, received_at=NOW)


class SlowStore:
    """Commits after ``delay_s``; refuses to work while ``down`` is set (an outage)."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.down = threading.Event()
        self.committed: list[int] = []
        self.batches: list[int] = []
        self._lock = threading.Lock()

    def apply_batch(self, items: Sequence[Item], now: datetime) -> BatchResult:
        if self.down.is_set():
            raise StoreUnavailable("connection refused")
        time.sleep(self.delay_s)
        seqs = [i.message.seq for i in items if isinstance(i, Accepted) and isinstance(i.message, Heartbeat)]
        with self._lock:
            self.committed.extend(seqs)
            self.batches.append(len(items))
        return BatchResult(stored=len(seqs))


def run_writer(writer: Writer, stop: threading.Event) -> threading.Thread:
    thread = threading.Thread(target=writer.run, args=(stop,), daemon=True)
    thread.start()
    return thread


def wait_until(predicate: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


def test_run_acks_everything_in_arrival_order_after_its_commit():
    store = SlowStore(delay_s=0.02)
    inbox: queue.Queue[Inbound] = queue.Queue()
    acks: list[int] = []
    confirmed: list[tuple[str, str, list[tuple[int, int]]]] = []

    def ack(mid: int, _qos: int) -> None:
        if mid < 10_000:  # an echo has nothing to commit
            assert mid in store.committed, f"mid {mid} acked before its commit"
        acks.append(mid)

    writer = Writer(
        inbox,
        store,
        ack,
        Stats(),
        confirm=lambda a, b, r: confirmed.append((a, b, r)),
        max_batch=50,
        max_wait_s=0.01,
    )
    stop = threading.Event()
    thread = run_writer(writer, stop)
    arrival = []
    for seq in range(1, 401):
        inbox.put(heartbeat(seq))
        arrival.append(seq)
        if seq % 100 == 0:
            inbox.put(Inbound(ECHO, b"{}", mid=10_000 + seq, qos=1, received_at=NOW))
            arrival.append(10_000 + seq)
    wait_until(lambda: len(acks) == len(arrival))
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert acks == arrival
    assert store.committed == list(range(1, 401))
    assert max(store.batches) <= 50
    assert {seq for _a, _b, ranges in confirmed for lo, hi in ranges for seq in range(lo, hi + 1)} == set(range(1, 401))


def test_stop_leaves_decoded_but_unstored_batches_unacked():
    store = SlowStore()
    store.down.set()
    inbox: queue.Queue[Inbound] = queue.Queue()
    acks: list[int] = []
    writer = Writer(inbox, store, lambda m, q: acks.append(m), Stats(), max_batch=10, max_wait_s=0.01)
    stop = threading.Event()
    thread = run_writer(writer, stop)
    for seq in range(1, 31):
        inbox.put(heartbeat(seq))
    # One batch is retried against the outage, the next decoded and waiting, the rest still queued.
    wait_until(lambda: inbox.qsize() <= 10)
    time.sleep(0.2)
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    assert acks == []
    assert store.committed == []
    assert writer.healthy_for() == 0.0
