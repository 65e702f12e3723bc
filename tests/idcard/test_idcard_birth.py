"""The reader's SAM id is its identity in the birth: learning or changing it sends a fresh birth of the
same boot under the next seq, before the state that shows it; each birth is stored in the outbox once.

The supervisor is driven by hand (``step``) with a list for a sink, or with the real SQLite outbox sink;
the last test runs the real idcard-sam driver against the pty SAM simulator.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import msgspec
from idcard_helpers import FAST, SAM_ID

from agent.config import AgentConfig, parse_config
from agent.delivery import OutboxSink
from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.drivers.idcard.sim.pty import PtySamReader
from agent.outbox import MemoryOutbox, SqliteOutbox, Thinned
from agent.pump import Pump
from agent.sink import AgentMessage
from agent.supervisor import Supervisor
from protocol.codec import decode_up
from protocol.messages import Birth, DeviceInfo, DeviceState, State

BOOT = "0123456789abcdef"
OTHER_SAM = "05.01-20240517-0000000777-0000000888"


class ListSink:
    def __init__(self) -> None:
        self.messages: list[AgentMessage] = []

    def send(self, topic: str, message: AgentMessage, *, periodic: bool = False) -> list[Thinned]:
        assert topic.endswith(f"/{message.type}")
        self.messages.append(message)
        return []

    def births(self) -> list[Birth]:
        return [m for m in self.messages if isinstance(m, Birth)]


class SwappableConfig(DeviceConfig):
    driver: Literal["swappable"] = "swappable"


class SwappableReader(Driver[SwappableConfig]):
    """A reader whose hardware the test swaps: its identity shows in the birth and in the state."""

    kind = "idcard"

    def __init__(self) -> None:
        super().__init__(SwappableConfig(id="reader-101", room="101"))
        self.identity: str | None = None

    def info(self) -> DeviceInfo:
        return msgspec.structs.replace(super().info(), identity=self.identity)

    def start(self) -> None:
        pass

    def poll(self, now: datetime) -> DeviceState:
        return self.state("ok" if self.identity else "offline", {"sam_id": self.identity})

    def events(self) -> list[DriverEvent]:
        return []

    def close(self) -> None:
        pass


def config(devices: list[dict[str, Any]] | None = None) -> AgentConfig:
    data = {
        "agent": {"city": "jinan", "site": "s01", "name": "a1", "heartbeat_s": 60.0, "state_interval_s": 60.0},
        "broker": {"host": "127.0.0.1"},
        # The config needs a device; the tests that pass drivers of their own replace it.
        "devices": devices or [{"driver": "sim-idcard", "id": "reader-101", "room": "101"}],
    }
    return parse_config(data, "agent.toml")


def supervisor(sink: ListSink | OutboxSink, reader: SwappableReader) -> Supervisor:
    made = Supervisor(config(), sink, boot=BOOT, drivers=[reader])
    made.start_devices()
    return made


def test_a_learned_identity_goes_out_in_a_fresh_birth_before_the_state_that_shows_it() -> None:
    sink, reader = ListSink(), SwappableReader()
    sup = supervisor(sink, reader)
    sup.notify_connected()
    sup.step()
    sup.step()  # nothing changed: no birth
    reader.identity = SAM_ID
    sup.step()

    assert [m.type for m in sink.messages] == ["birth", "state", "birth", "state"]
    first, fresh = sink.births()
    assert (first.seq, first.devices[0].identity) == (0, None)
    assert (fresh.boot, fresh.seq, fresh.devices[0].identity) == (BOOT, 2, SAM_ID)
    assert fresh.started_at == first.started_at, "the same boot: the session goes on"
    after = sink.messages[3]
    assert isinstance(after, State)
    assert (after.seq, after.devices[0].details["sam_id"]) == (3, SAM_ID)
    assert [m.seq for m in sink.messages[1:]] == [1, 2, 3], "one seq run, births included, without gaps"

    # Another reader in the same slot: another fresh birth.
    reader.identity = OTHER_SAM
    sup.step()
    assert [(b.seq, b.devices[0].identity) for b in sink.births()] == [(0, None), (2, SAM_ID), (4, OTHER_SAM)]
    assert sup.counters.births == 3


def test_a_reconnect_resends_the_latest_birth_and_a_change_while_away_takes_a_new_seq() -> None:
    sink, reader = ListSink(), SwappableReader()
    sup = supervisor(sink, reader)
    reader.identity = SAM_ID
    sup.step()  # learned before any connection: nothing to re-announce yet
    assert sink.births() == []
    sup.notify_connected()
    sup.step()
    assert [(b.seq, b.devices[0].identity) for b in sink.births()] == [(0, SAM_ID)]

    sup.notify_connected()  # a reconnect with nothing changed: the same birth, the same seq
    sup.step()
    assert [b.seq for b in sink.births()] == [0, 0]

    reader.identity = OTHER_SAM  # swapped while the link was down ...
    sup.notify_connected()  # ... the reconnect announces it under a new seq
    sup.step()
    births = sink.births()
    assert len(births) == 3
    assert births[-1].devices[0].identity == OTHER_SAM
    assert births[-1].seq == max(m.seq for m in sink.messages if not isinstance(m, Birth)) - 1
    sup.notify_connected()
    sup.step()
    assert sink.births()[-1].seq == births[-1].seq


def test_each_birth_is_stored_in_the_outbox_once_and_the_pump_sees_a_new_version(tmp_path: Path) -> None:
    outbox = SqliteOutbox(tmp_path / "outbox.sqlite")
    try:
        sink, reader = OutboxSink(outbox), SwappableReader()
        sup = supervisor(sink, reader)
        sup.notify_connected()
        sup.step()
        version_first, _ = sink.current_birth()
        sup.notify_connected()
        sup.step()  # a re-sent birth: not stored again
        reader.identity = SAM_ID
        sup.step()
        sup.notify_connected()
        sup.step()
        version, current = sink.current_birth()
        assert current is not None
        assert current[1].devices[0].identity == SAM_ID
        assert version > version_first

        stored = [decode_up(r.topic, r.payload)[1] for _, r in outbox.pending(after=0, limit=100)]
        births = [(m.seq, m.devices[0].identity) for m in stored if isinstance(m, Birth)]
        assert births == [(0, None), (current[1].seq, SAM_ID)]
        assert current[1].seq > 0
        assert sorted(m.seq for m in stored) == list(range(len(stored))), "every seq is in the outbox once"
    finally:
        outbox.close()


class BrokerLink:
    """A link whose broker acknowledges every publish at once; keeps what was published, retained or not."""

    connected = True
    connections = 1

    def __init__(self) -> None:
        self.published: list[tuple[str, int, bool]] = []

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.published.append((topic.rsplit("/", 1)[1], decode_up(topic, payload)[1].seq, retain))

    def wait_published(self, handle: None, timeout: float) -> None:
        pass


def test_the_pump_sends_a_fresh_birth_retained_at_once_and_its_stored_copy_in_seq_order() -> None:
    outbox, link = MemoryOutbox(1000), BrokerLink()
    sink, reader = OutboxSink(outbox), SwappableReader()
    sup = supervisor(sink, reader)
    pump = Pump(outbox, link, sink, sup.config.agent.path)  # type: ignore[arg-type]
    sup.notify_connected()
    sup.step()
    pump.step()
    reader.identity = SAM_ID
    sup.step()
    pump.step()
    assert link.published == [
        ("birth", 0, True),  # birth first, retained: what a hub subscribing later is handed
        ("birth", 0, False),
        ("state", 1, False),
        ("birth", 2, True),  # the fresh birth replaces the retained one at once ...
        ("birth", 2, False),  # ... and its stored copy follows the outbox order
        ("state", 3, False),
    ]


def test_the_idcard_driver_announces_its_sam_id_once_the_reader_answers(sim: PtySamReader) -> None:
    device = {"driver": "idcard-sam", "id": "reader-101", "room": "101", "port": str(sim.path), **FAST}
    sink = ListSink()
    sup = Supervisor(config([device]), sink, boot=BOOT)
    sup.start_devices()
    try:
        sup.notify_connected()
        deadline = time.monotonic() + 10
        while not any(b.devices[0].identity == SAM_ID for b in sink.births()):
            assert time.monotonic() < deadline, f"no birth with the SAM id: {sink.births()}"
            sup.step()
            time.sleep(0.02)
    finally:
        sup.close_devices()
    births = sink.births()
    # The reader answers after the first birth (the simulator is slow to reply), or before it.
    assert [b.devices[0].identity for b in births] in ([None, SAM_ID], [SAM_ID])
    assert births[-1].devices[0].label == ""
    seqs = [m.seq for m in sink.messages[1:]]
    assert seqs == list(range(1, len(seqs) + 1))
