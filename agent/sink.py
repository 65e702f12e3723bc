"""Delivering what the supervisor produces: the seam between "produce a message" and "deliver it".

The supervisor hands every message to a :class:`Sink` and forgets it.  :class:`LinkSink` publishes
straight to the broker and drops what it cannot deliver; the durable outbox (next issue) is another
``Sink`` that stores first and delivers later, and unit tests use a list.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from agent.errors import NotConnected, PublishRefused, PublishTimeout
from agent.link import Link
from protocol.codec import encode
from protocol.messages import Birth, Event, Heartbeat, State

log = logging.getLogger("sitewatch.agent.sink")

AgentMessage = Birth | Heartbeat | State | Event


class Sink(Protocol):
    def send(self, topic: str, message: AgentMessage) -> None: ...


@dataclass(slots=True)
class SinkCounters:
    sent: int = 0
    dropped: int = 0
    timeouts: int = 0
    refused: int = 0


class LinkSink:
    """Publish each message at QoS 1 and wait for the broker's PUBACK; no storage yet.

    On every connection the birth must come first, so anything else offered before this connection's
    birth was acknowledged is dropped, as is anything offered while disconnected.
    """

    def __init__(self, link: Link, ack_timeout_s: float = 2.0) -> None:
        self.link = link
        self.ack_timeout_s = ack_timeout_s
        self.counters = SinkCounters()
        self._birth_on: int | None = None
        self._dropping = False
        self._refused_topics: set[str] = set()

    def send(self, topic: str, message: AgentMessage) -> None:
        is_birth = isinstance(message, Birth)
        connection = self.link.connections
        if not is_birth and (not self.link.connected or self._birth_on != connection):
            self._drop(message)
            return
        try:
            handle = self.link.publish(topic, encode(message), qos=1, retain=is_birth)
            self.link.wait_published(handle, self.ack_timeout_s)
        except NotConnected:
            self._drop(message)
            return
        except PublishTimeout as exc:
            self.counters.timeouts += 1
            log.warning("%s", exc)
            return
        except PublishRefused as exc:
            self.counters.refused += 1
            # Refusals repeat for every message on the topic; the first says all there is to say.
            if topic in self._refused_topics:
                log.debug("%s", exc)
            else:
                self._refused_topics.add(topic)
                log.error("%s; not retrying (check the broker ACL and this agent's identity)", exc)  # noqa: TRY400  # a refusal has no useful traceback
            return
        self.counters.sent += 1
        self._dropping = False
        if isinstance(message, Birth):
            self._birth_on = connection
            log.info("birth published: boot %s, %d devices", message.boot, len(message.devices))

    def _drop(self, message: AgentMessage) -> None:
        self.counters.dropped += 1
        if self._dropping:
            log.debug("dropped %s seq %d", message.type, message.seq)
            return
        self._dropping = True
        # Before the first connect the link's "unreachable" warning already says it; after, this is news.
        level = logging.INFO if self.link.connections else logging.DEBUG
        log.log(
            level, "broker link down: dropping messages until it is back (from %s seq %d)", message.type, message.seq
        )
