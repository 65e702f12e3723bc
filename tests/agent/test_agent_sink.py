"""LinkSink against a fake link: birth first on every connection, drops while down, refusals not retried."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from agent.errors import NotConnected, PublishRefused, PublishTimeout
from agent.sink import LinkSink
from protocol.codec import decode_up
from protocol.examples import examples
from protocol.messages import Birth, Heartbeat

TS = datetime(2026, 5, 17, tzinfo=UTC)


class FakeLink:
    def __init__(self) -> None:
        self.connected = True
        self.connections = 1
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.fail_with: Exception | None = None

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        if not self.connected:
            raise NotConnected("down")
        self.published.append((topic, payload, qos, retain))
        return len(self.published)

    def wait_published(self, handle: int, timeout: float) -> None:
        if self.fail_with is not None:
            raise self.fail_with


def _birth() -> Birth:
    birth = examples()["birth"]
    assert isinstance(birth, Birth)
    return birth


def _beat(seq: int) -> Heartbeat:
    return Heartbeat(agent="jinan/s01/a1", boot="5f0c2a9e4b7d4e1c", seq=seq, ts=TS, uptime_s=1.0)


BIRTH_TOPIC = "sw/v1/jinan/s01/a1/birth"
BEAT_TOPIC = "sw/v1/jinan/s01/a1/heartbeat"


def test_birth_is_retained_and_opens_the_connection_for_the_rest() -> None:
    link = FakeLink()
    sink = LinkSink(link)  # type: ignore[arg-type]
    sink.send(BEAT_TOPIC, _beat(1))
    sink.send(BIRTH_TOPIC, _birth())
    sink.send(BEAT_TOPIC, _beat(2))
    assert [(t, q, r) for t, _, q, r in link.published] == [(BIRTH_TOPIC, 1, True), (BEAT_TOPIC, 1, False)]
    _, message = decode_up(BEAT_TOPIC, link.published[1][1])
    assert message.seq == 2
    assert (sink.counters.sent, sink.counters.dropped) == (2, 1)


def test_after_a_reconnect_nothing_goes_before_the_new_birth() -> None:
    link = FakeLink()
    sink = LinkSink(link)  # type: ignore[arg-type]
    sink.send(BIRTH_TOPIC, _birth())
    link.connections = 2
    sink.send(BEAT_TOPIC, _beat(5))
    sink.send(BIRTH_TOPIC, _birth())
    sink.send(BEAT_TOPIC, _beat(6))
    assert [t for t, *_ in link.published] == [BIRTH_TOPIC, BIRTH_TOPIC, BEAT_TOPIC]


def test_dropping_while_disconnected_is_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    link = FakeLink()
    sink = LinkSink(link)  # type: ignore[arg-type]
    sink.send(BIRTH_TOPIC, _birth())
    link.connected = False
    with caplog.at_level(logging.INFO, logger="sitewatch.agent.sink"):
        for seq in range(1, 6):
            sink.send(BEAT_TOPIC, _beat(seq))
    assert sink.counters.dropped == 5
    assert len([r for r in caplog.records if r.levelno >= logging.INFO]) == 1


def test_a_refusal_is_counted_not_raised_and_logged_once_per_topic(caplog: pytest.LogCaptureFixture) -> None:
    link = FakeLink()
    sink = LinkSink(link)  # type: ignore[arg-type]
    sink.send(BIRTH_TOPIC, _birth())
    link.fail_with = PublishRefused(BEAT_TOPIC, 135, "Not authorized")
    with caplog.at_level(logging.INFO, logger="sitewatch.agent.sink"):
        sink.send(BEAT_TOPIC, _beat(1))
        sink.send(BEAT_TOPIC, _beat(2))
    assert sink.counters.refused == 2
    assert len(link.published) == 3, "each message published once: a refusal is never retried"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "reason code 135" in errors[0].getMessage()


def test_a_timeout_is_counted() -> None:
    link = FakeLink()
    sink = LinkSink(link)  # type: ignore[arg-type]
    sink.send(BIRTH_TOPIC, _birth())
    link.fail_with = PublishTimeout("slow")
    sink.send(BEAT_TOPIC, _beat(1))
    assert sink.counters.timeouts == 1
