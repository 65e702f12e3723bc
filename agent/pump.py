"""Delivers the outbox over the link, in production order, and deletes only what the hub confirms.

One thread.  Each pass: apply the hub's acks and commands (the link's paho thread only queues them), and
if connected publish the current birth (retained) once per connection, then every record past the
cursor.  A new connection, a ``resend`` command from the hub, or a record left unconfirmed for
``resend_after_s`` sends the cursor back to the start: whatever is still in the outbox goes again
(the hub stores by (agent, boot, seq), so a duplicate is harmless).  Records produced before the
current connection are marked ``historical`` when published, so the hub does not raise a live alarm
for something that is already over.
"""

from __future__ import annotations

import collections
import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from agent.delivery import OutboxSink
from agent.errors import LinkError, PublishRefused
from agent.link import Link, PublishHandle
from agent.outbox import Outbox, Record
from protocol.codec import decode_ack, decode_command, encode
from protocol.errors import ProtocolError
from protocol.topics import AgentPath, parse_topic, topic_for

log = logging.getLogger("sitewatch.agent.pump")


@dataclass(slots=True)
class PumpCounters:
    published: int = 0
    replayed: int = 0
    confirmed: int = 0
    refused: int = 0
    bad_downlink: int = 0
    resends: int = 0
    commands: int = 0


def mark_historical(payload: bytes) -> bytes:
    doc = json.loads(payload)
    doc["historical"] = True
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


class Pump:
    def __init__(
        self,
        outbox: Outbox,
        link: Link,
        sink: OutboxSink,
        path: AgentPath,
        *,
        resend_after_s: float = 30.0,
        batch: int = 200,
        batch_bytes: int = 1 << 20,
        window: int = 1000,
        puback_timeout_s: float = 10.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.outbox = outbox
        self.link = link
        self.sink = sink
        self.resend_after_s = resend_after_s
        # At most this many records published and not yet confirmed: after an outage a hundred agents
        # replaying hours each must not bury the hub (measured: without a window, re-sends piled up).
        self.window = window
        self._resend_delay = resend_after_s
        self.batch = batch
        # And at most this many payload bytes a batch: a replay of snapshots (up to 80 KB each as JSON)
        # would otherwise read 200 of them, 16 MB, into memory at once.
        self.batch_bytes = batch_bytes
        self.puback_timeout_s = puback_timeout_s
        self.counters = PumpCounters()
        self._mono = monotonic
        self._ack_topic = topic_for(path, "ack")
        self._command_topic = topic_for(path, "command")
        self._downlink: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self._connection = -1
        self._birth_sent: tuple[int, int] | None = None
        self._cursor = 0
        # Everything stored before this pump started came from an earlier run: replaying it is history.
        self._historical_upto = outbox.high_water()
        # (position, when published) in publish order: tells how long the oldest unconfirmed record waited.
        self._sent: collections.deque[tuple[int, float]] = collections.deque()

    @property
    def subscriptions(self) -> tuple[str, str]:
        return self._ack_topic, self._command_topic

    def on_message(self, topic: str, payload: bytes) -> None:
        """Called from the link's paho thread: queue and return."""
        self._downlink.put((topic, payload))
        self.sink.wake.set()

    def run(self, stop: threading.Event, idle_s: float = 0.5) -> None:
        while not stop.is_set():
            try:
                self.step()
            except Exception:  # the agent must keep trying to deliver whatever one pass hit
                log.exception("delivery pass failed")
                stop.wait(1.0)
            self.sink.wake.wait(idle_s)
            self.sink.wake.clear()

    def step(self) -> None:
        self._apply_downlink()
        if not self.link.connected:
            return
        connection = self.link.connections
        if connection != self._connection:
            if self._connection != -1:
                # A reconnect: what was produced until now is either a repeat or was held through an outage.
                self._historical_upto = max(self._historical_upto, self.outbox.high_water())
            self._connection = connection
            self._rewind("new connection")
        if not self._publish_birth(connection):
            return
        self._maybe_resend()
        while self.link.connected:
            self._apply_downlink()  # a long replay must not keep the hub's acks waiting
            room = self.window - self._in_flight()
            if room <= 0:
                return  # the hub's confirmations wake the pump again
            records = self.outbox.pending(after=self._cursor, limit=min(self.batch, room), max_bytes=self.batch_bytes)
            if not records or not self._publish(records):
                return

    def _publish_birth(self, connection: int) -> bool:
        version, birth = self.sink.current_birth()
        if birth is None:
            return False  # the birth always goes first: wait until the supervisor has produced it
        if self._birth_sent == (connection, version):
            return True
        topic, message = birth
        try:
            self.link.wait_published(self.link.publish(topic, encode(message), retain=True), self.puback_timeout_s)
        except PublishRefused:
            log.exception("the broker refused this agent's birth: check its identity and ACL")
            return False
        except LinkError as exc:
            log.warning("birth not delivered: %s", exc)
            return False
        self._birth_sent = (connection, version)
        log.info("birth published (retained): boot %s, %d devices", message.boot, len(message.devices))
        return True

    def _publish(self, records: list[tuple[int, Record]]) -> bool:
        handles: list[tuple[int, Record, PublishHandle]] = []
        try:
            for pos, record in records:
                payload = record.payload
                if pos <= self._historical_upto:
                    payload = mark_historical(payload)
                    self.counters.replayed += 1
                handles.append((pos, record, self.link.publish(record.topic, payload, qos=1, retain=record.retain)))
        except LinkError as exc:
            log.debug("publish interrupted: %s", exc)
        deadline = self._mono() + self.puback_timeout_s
        for pos, record, handle in handles:
            try:
                self.link.wait_published(handle, max(0.0, deadline - self._mono()))
            except PublishRefused as exc:
                # The broker will refuse it every time (ACL): keeping it would block the queue forever.
                self.counters.refused += 1
                self.outbox.confirm(record.boot, [(record.seq, record.seq)])
                log.error("dropped %s seq %d: %s", record.topic, record.seq, exc)  # noqa: TRY400  # no traceback to add
            except LinkError as exc:
                log.debug("publish not acknowledged: %s", exc)
                return False
            self._cursor = pos
            self._sent.append((pos, self._mono()))
            self.counters.published += 1
        return len(handles) == len(records)

    def _in_flight(self) -> int:
        """Published records not yet confirmed (those below the oldest one still stored are done)."""
        oldest = self.outbox.pending(after=0, limit=1)
        if not oldest:
            self._sent.clear()
            return 0
        first = oldest[0][0]
        while self._sent and self._sent[0][0] < first:
            self._sent.popleft()
        return len(self._sent)

    def _maybe_resend(self) -> None:
        if not self._in_flight():
            return
        first_pos, sent_at = self._sent[0]
        oldest = self.outbox.pending(after=0, limit=1)
        if oldest and oldest[0][0] == first_pos and self._mono() - sent_at > self._resend_delay:
            self.counters.resends += 1
            self._rewind(f"seq unconfirmed for {self._resend_delay:g} s")
            # A hub that is merely slow must not get everything again every few seconds: back off.
            self._resend_delay = min(self._resend_delay * 2, self.resend_after_s * 8)

    def _rewind(self, why: str) -> None:
        if self._cursor:
            log.info("replaying the unconfirmed outbox (%s)", why)
        self._cursor = 0
        self._sent.clear()

    def _apply_downlink(self) -> None:
        while True:
            try:
                topic, payload = self._downlink.get_nowait()
            except queue.Empty:
                return
            try:
                kind = parse_topic(topic).kind
                if kind == "ack":
                    ack = decode_ack(payload)
                    confirmed = self.outbox.confirm(ack.boot, ack.ranges)
                    self.counters.confirmed += confirmed
                    if confirmed:
                        self._resend_delay = self.resend_after_s  # the hub keeps up again
                elif kind == "command":
                    self._command(payload)
            except ProtocolError as exc:
                self.counters.bad_downlink += 1
                log.warning("ignored a bad message from the hub on %s: %s", topic, exc)

    def _command(self, payload: bytes) -> None:
        command = decode_command(payload)
        self.counters.commands += 1
        if command.name == "resend":
            self._historical_upto = max(self._historical_upto, self.outbox.high_water())
            self._rewind(f"hub asked: {command.args}")
        else:
            log.warning("unsupported command %r (id %s) ignored", command.name, command.id)
