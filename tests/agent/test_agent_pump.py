"""The delivery pump against a scripted link and a memory outbox: order, acks, replay, resend, refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgspec
import pytest

from agent.delivery import OutboxSink
from agent.errors import NotConnected, PublishRefused
from agent.outbox import MemoryOutbox, Record, Thinned
from agent.pump import Pump
from protocol.codec import encode
from protocol.errors import SchemaError
from protocol.messages import Ack, Birth, Command, Event, Heartbeat
from protocol.topics import AgentPath, topic_for

PATH = AgentPath("jinan", "s01", "a1")
BOOT = "0123456789abcdef"
TS = datetime(2026, 5, 17, tzinfo=UTC)


class ScriptedHandle:
    def __init__(self, topic: str, refused: bool) -> None:
        self.topic = topic
        self.refused = refused


class ScriptedLink:
    """Every publish is acknowledged at once by the broker unless the topic is listed as refused."""

    def __init__(self) -> None:
        self.connected = True
        self.connections = 1
        self.published: list[tuple[str, dict[str, object], bool]] = []
        self.refuse: set[str] = set()

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> ScriptedHandle:
        if not self.connected:
            raise NotConnected("down")
        self.published.append((topic, json.loads(payload), retain))
        return ScriptedHandle(topic, topic in self.refuse)

    def wait_published(self, handle: ScriptedHandle, timeout: float) -> None:
        if handle.refused:
            raise PublishRefused(handle.topic, 135, "Not authorized")

    def seqs(self) -> list[tuple[int, bool]]:
        return [(int(doc["seq"]), bool(doc["historical"])) for _, doc, retain in self.published if not retain]


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def birth() -> Birth:
    return Birth(agent=PATH.agent_id, boot=BOOT, seq=0, ts=TS, sw_version="t", started_at=TS, heartbeat_s=5, devices=[])


def beat(seq: int) -> Heartbeat:
    return Heartbeat(agent=PATH.agent_id, boot=BOOT, seq=seq, ts=TS, uptime_s=seq)


def event(seq: int) -> Event:
    return Event(agent=PATH.agent_id, boot=BOOT, seq=seq, ts=TS, name="vault.entry", severity="info")


def make(resend_after_s: float = 30.0) -> tuple[Pump, ScriptedLink, OutboxSink, MemoryOutbox, Clock]:
    box = MemoryOutbox(1000)
    link = ScriptedLink()
    sink = OutboxSink(box, wall=lambda: 0.0)
    clock = Clock()
    pump = Pump(box, link, sink, PATH, resend_after_s=resend_after_s, monotonic=clock)  # type: ignore[arg-type]
    # The pump publishes nothing before the boot's birth: every test starts with one produced.
    sink.send(topic_for(PATH, "birth"), birth())
    return pump, link, sink, box, clock


def ack(*ranges: tuple[int, int]) -> bytes:
    return encode(Ack(boot=BOOT, ranges=list(ranges), ts=TS))


def test_retained_birth_first_then_records_in_order_and_kept_until_the_hub_acks() -> None:
    pump, link, sink, box, _ = make()
    for seq in (1, 2, 3):
        sink.send(topic_for(PATH, "heartbeat"), beat(seq), periodic=True)
    pump.step()
    topic, doc, retained = link.published[0]
    assert (topic, doc["type"], retained) == (topic_for(PATH, "birth"), "birth", True)
    assert link.seqs() == [(0, False), (1, False), (2, False), (3, False)]
    assert box.stats().depth == 4  # the broker's PUBACK deletes nothing
    pump.on_message(topic_for(PATH, "ack"), ack((0, 2)))
    pump.step()
    assert [r.seq for _, r in box.pending()] == [3]
    assert pump.counters.confirmed == 3


def test_a_reconnect_replays_the_unconfirmed_records_marked_historical() -> None:
    pump, link, sink, _box, _ = make()
    sink.send(topic_for(PATH, "event"), event(1))
    pump.step()
    link.connected = False
    sink.send(topic_for(PATH, "event"), event(2))  # produced while the link is down
    pump.step()
    link.connected, link.connections = True, 2
    sink.send(topic_for(PATH, "birth"), birth())  # the supervisor re-sends the birth on reconnect
    pump.step()
    sink.send(topic_for(PATH, "event"), event(3))
    pump.step()
    assert link.seqs() == [(0, False), (1, False), (0, True), (1, True), (2, True), (3, False)]
    births = [retain for _, doc, retain in link.published if doc["type"] == "birth" and retain]
    assert len(births) == 2  # the retained birth once per connection


def test_unconfirmed_records_are_sent_again_after_the_resend_delay() -> None:
    pump, link, sink, _box, clock = make(resend_after_s=30)
    sink.send(topic_for(PATH, "event"), event(1))
    pump.step()
    clock.t += 29
    pump.step()
    assert link.seqs() == [(0, False), (1, False)]
    clock.t += 2
    pump.step()
    assert link.seqs() == [(0, False), (1, False), (0, False), (1, False)]
    assert pump.counters.resends == 1
    pump.on_message(topic_for(PATH, "ack"), ack((0, 1)))
    clock.t += 60
    pump.step()
    assert len(link.seqs()) == 4  # confirmed: never again


def test_batches_stay_within_their_byte_budget_and_all_records_still_go_in_order() -> None:
    pump, link, sink, box, _ = make()
    pump.batch_bytes = 600  # two or three events a batch
    batches: list[list[int]] = []
    pending = box.pending

    def spy(after: int = 0, limit: int = 500, max_bytes: int | None = None) -> list[tuple[int, Record]]:
        got = pending(after, limit, max_bytes)
        if max_bytes is not None and got:
            assert len(got) == 1 or sum(len(r.payload) for _, r in got) <= max_bytes
            batches.append([r.seq for _, r in got])
        return got

    box.pending = spy  # type: ignore[method-assign]
    for seq in range(1, 11):
        sink.send(topic_for(PATH, "event"), event(seq))
    pump.step()
    assert link.seqs() == [(seq, False) for seq in range(11)]
    assert len(batches) >= 4, batches
    assert [seq for batch in batches for seq in batch] == list(range(11))


def test_a_refused_record_is_counted_and_does_not_block_the_rest() -> None:
    pump, link, sink, box, _ = make()
    link.refuse.add(topic_for(PATH, "event"))
    sink.send(topic_for(PATH, "event"), event(1))
    sink.send(topic_for(PATH, "heartbeat"), beat(2))
    pump.step()
    assert pump.counters.refused == 1
    assert [r.seq for _, r in box.pending()] == [0, 2]


def test_bad_downlink_messages_are_counted_not_fatal() -> None:
    pump, _link, sink, box, _ = make()
    sink.send(topic_for(PATH, "event"), event(1))
    pump.on_message(topic_for(PATH, "ack"), b"{nonsense")
    pump.on_message(
        topic_for(PATH, "ack"),
        b'{"v": 1, "type": "ack", "boot": "0123456789abcdef", "ranges": [[3, 1]], "ts": "2026-05-17T00:00:00Z"}',
    )
    pump.step()
    assert pump.counters.bad_downlink == 2
    assert box.stats().depth == 2


def test_a_resend_command_replays_what_is_still_unconfirmed() -> None:
    pump, link, sink, _box, _ = make()
    sink.send(topic_for(PATH, "event"), event(1))
    pump.step()
    command = Command(id="c1", name="resend", args={"boot": BOOT, "from": 1, "to": 1}, ts=TS)
    pump.on_message(topic_for(PATH, "command"), encode(command))
    pump.step()
    assert link.seqs() == [(0, False), (1, False), (0, True), (1, True)]


def test_nothing_goes_out_before_the_birth_of_the_boot() -> None:
    box = MemoryOutbox(1000)
    link = ScriptedLink()
    sink = OutboxSink(box, wall=lambda: 0.0)
    pump = Pump(box, link, sink, PATH)  # type: ignore[arg-type]
    sink.send(topic_for(PATH, "heartbeat"), beat(1), periodic=True)
    pump.step()
    assert link.published == []
    sink.send(topic_for(PATH, "birth"), birth())
    pump.step()
    assert [(doc["type"], retain) for _, doc, retain in link.published] == [
        ("birth", True),
        ("heartbeat", False),
        ("birth", False),
    ]


def test_a_birth_is_stored_once_per_boot_but_republished_each_connection() -> None:
    _pump, _link, sink, box, _ = make()
    sink.send(topic_for(PATH, "birth"), birth())
    assert [r.seq for _, r in box.pending()] == [0]
    version, current = sink.current_birth()
    assert version == 2
    assert current is not None


def test_thinning_reports_reach_the_caller() -> None:
    box = MemoryOutbox(100)
    sink = OutboxSink(box, wall=lambda: 0.0)
    reports: list[Thinned] = []
    for seq in range(1, 120):
        reports += sink.send(topic_for(PATH, "heartbeat"), beat(seq), periodic=True)
    assert sum(r.count for r in reports) == 119 - box.stats().depth
    assert reports[0].first_seq == 1


def test_no_more_than_the_window_is_unconfirmed_and_confirmations_open_it_again() -> None:
    pump, link, sink, _box, _clock = make()
    pump.window = 3
    for seq in range(1, 8):
        sink.send(topic_for(PATH, "event"), event(seq))
    pump.step()
    assert link.seqs() == [(0, False), (1, False), (2, False)]  # the birth record counts too
    pump.step()
    assert len(link.seqs()) == 3  # nothing more until the hub confirms
    pump.on_message(topic_for(PATH, "ack"), ack((0, 1)))
    pump.step()
    assert link.seqs()[3:] == [(3, False), (4, False)]


def test_resends_back_off_while_the_hub_confirms_nothing() -> None:
    pump, _link, sink, _box, clock = make(resend_after_s=10)
    sink.send(topic_for(PATH, "event"), event(1))
    pump.step()
    times = []
    for _ in range(80):
        clock.t += 1
        before = pump.counters.resends
        pump.step()
        if pump.counters.resends > before:
            times.append(clock.t - 100)
    assert times[:3] == [11, 32, 73]  # 10 s, then 20 s, then 40 s after each re-send
    pump.on_message(topic_for(PATH, "ack"), ack((0, 0)))
    pump.step()
    assert pump._resend_delay == 10  # progress resets the back-off


def test_a_message_the_hub_would_refuse_is_neither_stored_nor_made_the_current_birth() -> None:
    _pump, _link, sink, box, _ = make()
    bad_birth = msgspec.structs.replace(birth(), seq=1, sw_version="")  # built in code, so not yet checked
    with pytest.raises(SchemaError, match="field sw_version"):
        sink.send(topic_for(PATH, "birth"), bad_birth)
    with pytest.raises(SchemaError, match="field name"):
        sink.send(topic_for(PATH, "event"), msgspec.structs.replace(event(1), name="Not A Name"))
    assert [r.seq for _, r in box.pending()] == [0]
    version, current = sink.current_birth()
    assert version == 1
    assert current is not None
    assert current[1] == birth()
