"""The writer without a broker or a database: decode → quarantine classes, commit-then-ack, retries."""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from hub.errors import StoreError, StoreUnavailable
from hub.ingest.decode import decode, decode_batch
from hub.ingest.inbound import Inbound
from hub.ingest.writer import STORE_REJECTED, Writer
from hub.stats import Stats
from hub.store.records import Accepted, BatchResult, Item, Rejected
from protocol.codec import encode
from protocol.examples import examples

NOW = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)
EX = examples()
HB_TOPIC = "sw/v1/jinan/s01/a1/heartbeat"


def inbound(topic: str, payload: bytes, mid: int = 1, qos: int = 1) -> Inbound:
    return Inbound(topic, payload, mid, qos, NOW)


@pytest.mark.parametrize(
    ("topic", "payload", "code"),
    [
        (HB_TOPIC, b"not json", "bad_payload"),
        (HB_TOPIC, b"\xff\xfe", "bad_payload"),
        (HB_TOPIC, b"[1, 2]", "bad_payload"),
        (HB_TOPIC, b'{"v": 2}', "unsupported_version"),
        (HB_TOPIC, b'{"type": "heartbeat"}', "schema"),
        (HB_TOPIC, b'{"v": 1, "type": "heartbeat", "agent": "jinan/s01/a1"}', "schema"),
        ("sw/v1/jinan/s01/a1/state", encode(EX["heartbeat"]), "identity_mismatch"),
        ("sw/v1/jinan/s01/a2/heartbeat", encode(EX["heartbeat"]), "identity_mismatch"),
        ("sw/v1/jinan/s01/a1/command", encode(EX["heartbeat"]), "bad_topic"),
        ("sw/v1/Jinan/s01/a1/heartbeat", encode(EX["heartbeat"]), "bad_topic"),
        ("other/topic", b"{}", "bad_topic"),
    ],
)
def test_decode_classifies_bad_input(topic: str, payload: bytes, code: str):
    item = decode(inbound(topic, payload))
    assert isinstance(item, Rejected)
    assert (item.code, item.topic, item.payload, item.received_at) == (code, topic, payload, NOW)
    assert item.reason


def test_decode_accepts_every_example():
    for kind in ("birth", "death", "heartbeat", "state", "event"):
        item = decode(inbound(f"sw/v1/jinan/s01/a1/{kind}", encode(EX[kind])))
        assert isinstance(item, Accepted)
        assert item.message == EX[kind]
        assert item.received_at == NOW


def test_decode_batch_keeps_order():
    items = decode_batch([inbound(HB_TOPIC, b"x"), inbound(HB_TOPIC, encode(EX["heartbeat"]))])
    assert [type(i) for i in items] == [Rejected, Accepted]


class FakeStore:
    """Fails the first ``outages`` calls as unavailable; refuses (StoreError) any batch holding an event."""

    def __init__(self, outages: int = 0) -> None:
        self.outages = outages
        self.calls: list[list[Item]] = []
        self.committed: list[Item] = []

    def apply_batch(self, items: Sequence[Item], now: datetime) -> BatchResult:
        self.calls.append(list(items))
        if self.outages > 0:
            self.outages -= 1
            raise StoreUnavailable("connection refused")
        if any(isinstance(i, Accepted) and i.message.type == "event" for i in items):
            raise StoreError("value out of range")
        self.committed.extend(items)
        result = BatchResult(stored=sum(isinstance(i, Accepted) for i in items))
        result.quarantined.update(i.code for i in items if isinstance(i, Rejected))
        return result


def make_writer(store: FakeStore, acks: list[tuple[int, int]], stats: Stats | None = None) -> Writer:
    def ack(mid: int, qos: int) -> None:
        # Every message acked so far must already be committed (stored or quarantined).
        assert len(store.committed) > len(acks)
        acks.append((mid, qos))

    return Writer(queue.Queue(), store, ack, stats or Stats(), max_backoff_s=0.01, clock=lambda: NOW)


def test_acks_after_commit_in_arrival_order():
    store, acks, stats = FakeStore(), [], Stats()
    writer = make_writer(store, acks, stats)
    batch = [
        inbound(HB_TOPIC, encode(EX["heartbeat"]), mid=7),
        inbound(HB_TOPIC, b"garbage", mid=3),
        inbound(HB_TOPIC, encode(EX["heartbeat"]), mid=5, qos=0),
    ]
    assert writer.process(batch, threading.Event())
    assert len(store.calls) == 1
    assert acks == [(7, 1), (3, 1), (5, 0)]
    snap = stats.snapshot()
    assert snap["stored"] == 2
    assert snap["quarantined"] == {"bad_payload": 1}
    assert snap["acked"] == 3


def test_outage_retries_the_same_batch_and_acks_only_after(caplog: pytest.LogCaptureFixture):
    store, acks, stats = FakeStore(outages=3), [], Stats()
    writer = make_writer(store, acks, stats)
    batch = [inbound(HB_TOPIC, encode(EX["heartbeat"]), mid=1)]
    with caplog.at_level("INFO", logger="sitewatch.hub.ingest"):
        assert writer.process(batch, threading.Event())
    assert len(store.calls) == 4
    assert all(call == store.calls[0] for call in store.calls)
    assert acks == [(1, 1)]
    outage_lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert len(outage_lines) == 1, "one log line per outage, not per retry"
    assert any("database back" in r.getMessage() for r in caplog.records)
    assert stats.snapshot()["db_retries"] == 3
    assert stats.snapshot()["db_outages"] == 1


def test_stop_during_outage_acks_nothing():
    store, acks = FakeStore(outages=10**6), []
    writer = make_writer(store, acks)
    stop = threading.Event()
    stop.set()
    assert not writer.process([inbound(HB_TOPIC, encode(EX["heartbeat"]))], stop)
    assert acks == []
    assert writer.healthy_for() == 0.0


def test_refused_batch_is_split_and_the_poison_quarantined():
    store, acks, stats = FakeStore(), [], Stats()
    writer = make_writer(store, acks, stats)
    poison = encode(EX["event"])
    batch = [
        inbound(HB_TOPIC, encode(EX["heartbeat"]), mid=1),
        inbound("sw/v1/jinan/s01/a1/event", poison, mid=2),
        inbound(HB_TOPIC, encode(EX["heartbeat"]), mid=3),
    ]
    assert writer.process(batch, threading.Event())
    assert acks == [(1, 1), (2, 1), (3, 1)]
    quarantined = [i for i in store.committed if isinstance(i, Rejected)]
    assert len(quarantined) == 1
    assert quarantined[0].code == STORE_REJECTED
    assert quarantined[0].payload == poison
    assert quarantined[0].topic == "sw/v1/jinan/s01/a1/event"
    assert "value out of range" in quarantined[0].reason
    assert stats.snapshot()["stored"] == 2


def test_collect_flushes_on_size_and_on_time():
    inbox: queue.Queue[Inbound] = queue.Queue()
    writer = Writer(inbox, FakeStore(), lambda m, q: None, Stats(), max_batch=3, max_wait_s=0.05)
    for mid in range(5):
        inbox.put(inbound(HB_TOPIC, b"x", mid=mid))
    stop = threading.Event()
    assert [i.mid for i in writer.collect(stop)] == [0, 1, 2]
    assert [i.mid for i in writer.collect(stop)] == [3, 4]
    assert writer.collect(stop) == []
