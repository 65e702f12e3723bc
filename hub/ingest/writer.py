"""The writer: batch, decode, store in one transaction, commit, then ack.

Batches close at 1,000 messages or 200 ms after their first, whichever comes first.  Decoding the next
batch (a helper thread) overlaps storing this one, which spends most of its time waiting on PostgreSQL.

Acks go out only after the commit, in arrival order, so a message the broker considers delivered is
always in the database (quarantined or stored).  While the database is down the same batch is retried
with backoff and nothing is acked: the broker keeps the messages, and our bounded queue plus MQTT's
receive maximum keep memory bounded.  A batch the database *refuses* (bad content, not an outage) is
split so one poisonous message is quarantined instead of blocking everything behind it.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from hub.errors import IngestError, StoreError, StoreUnavailable
from hub.ingest.acks import SeqRanges, confirmations
from hub.ingest.decode import decode_batch, is_downlink
from hub.ingest.inbound import Inbound
from hub.liveness import WentOffline, describe
from hub.stats import Stats
from hub.store.records import BatchResult, Item, Rejected

log = logging.getLogger("sitewatch.hub.ingest")

Ack = Callable[[int, int], None]
# (agent id, boot, seq ranges): tells the agent these are committed and may leave its outbox.
Confirm = Callable[[str, str, SeqRanges], None]
STORE_REJECTED = "store_rejected"


class BatchStore(Protocol):
    def apply_batch(self, items: Sequence[Item], now: datetime) -> BatchResult: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Prepared:
    """A decoded batch waiting to be stored: every message to ack, and the agents' ones as store items."""

    batch: list[Inbound]  # in arrival order, downlink echoes included: all are acked after the commit
    data: list[Inbound]
    items: list[Item]  # data, decoded, in the same order


class Writer:
    def __init__(
        self,
        inbox: queue.Queue[Inbound],
        store: BatchStore,
        ack: Ack,
        stats: Stats,
        *,
        confirm: Confirm | None = None,
        max_batch: int = 1000,
        max_wait_s: float = 0.2,
        max_backoff_s: float = 5.0,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._inbox = inbox
        self._store = store
        self._ack = ack
        self._confirm = confirm
        self._stats = stats
        self._max_batch = max_batch
        self._max_wait_s = max_wait_s
        self._max_backoff_s = max_backoff_s
        self._clock = clock
        self._healthy_since: float | None = time.monotonic()

    def healthy_for(self) -> float:
        """Seconds since the database last worked for us without interruption (0 during an outage)."""
        since = self._healthy_since
        return 0.0 if since is None else time.monotonic() - since

    def run(self, stop: threading.Event) -> None:
        """Store and ack batches until ``stop``, decoding the next batch while this one is being stored.

        Two stages: a helper thread collects and decodes batch N+1 (Python work, holding the GIL) while
        this thread waits on PostgreSQL for batch N (which releases it).  One prepared batch at most
        waits between them, and this thread alone stores and acks, so acks stay in arrival order.  A
        batch decoded but not stored when we stop is never acked: the broker sends it again.
        """
        ready: queue.Queue[_Prepared] = queue.Queue(maxsize=1)
        halt = threading.Event()
        died = threading.Event()

        def prepare_loop() -> None:
            try:
                self._prepare_loop(stop, halt, ready)
            except Exception:
                log.exception("the ingest decoding stage crashed")
                died.set()

        decoder = threading.Thread(target=prepare_loop, name="hub-ingest-decode", daemon=True)
        decoder.start()
        try:
            while not stop.is_set():
                if died.is_set():
                    raise IngestError("the ingest decoding stage crashed; restarting the writer")
                try:
                    prepared = ready.get(timeout=0.25)
                except queue.Empty:
                    continue
                self._commit(prepared, stop)
        finally:
            halt.set()
            decoder.join()

    def _prepare_loop(self, stop: threading.Event, halt: threading.Event, ready: queue.Queue[_Prepared]) -> None:
        while not (stop.is_set() or halt.is_set()):
            batch = self.collect(stop)
            if not batch:
                continue
            prepared = self.prepare(batch)
            while not (stop.is_set() or halt.is_set()):
                try:
                    ready.put(prepared, timeout=0.25)
                    break
                except queue.Full:
                    continue

    def collect(self, stop: threading.Event) -> list[Inbound]:
        """Wait for a first message, then take more until the batch is full or ``max_wait_s`` passed."""
        try:
            first = self._inbox.get(timeout=0.25)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self._max_wait_s
        while len(batch) < self._max_batch and not stop.is_set():
            # Take what is already queued without waiting: under load the batch fills from here.
            try:
                while len(batch) < self._max_batch:
                    batch.append(self._inbox.get_nowait())
            except queue.Empty:
                pass
            else:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                batch.append(self._inbox.get(timeout=remaining))
            except queue.Empty:
                break
        return batch

    def prepare(self, batch: Sequence[Inbound]) -> _Prepared:
        """Decode a batch (pure CPU work: no database, no acks)."""
        # Acks and commands the hubs publish to agents come back through the wildcard subscription
        # when a shared one cannot use no-local; they are ours, not agents' data.
        data = [m for m in batch if not is_downlink(m.topic)]
        return _Prepared(list(batch), data, decode_batch(data))

    def process(self, batch: Sequence[Inbound], stop: threading.Event) -> bool:
        """Store and ack one batch; False if stopped before it could be stored (nothing acked)."""
        return self._commit(self.prepare(batch), stop)

    def _commit(self, prepared: _Prepared, stop: threading.Event) -> bool:
        if prepared.items:
            result = self._store_with_retry(prepared.data, prepared.items, stop)
            if result is None:
                return False
            self._count(result)
        ignored = len(prepared.batch) - len(prepared.data)
        if ignored:
            self._stats.add("downlink_ignored", ignored)
        for inbound in prepared.batch:
            self._ack(inbound.mid, inbound.qos)
        self._stats.add("acked", len(prepared.batch))
        if self._confirm is not None:
            for (agent, boot), ranges in confirmations(prepared.items).items():
                self._confirm(agent, boot, ranges)
                self._stats.add("confirmations")
        return True

    def _store_with_retry(
        self, batch: Sequence[Inbound], items: Sequence[Item], stop: threading.Event
    ) -> BatchResult | None:
        delay = 0.2
        outage_logged = False
        while True:
            try:
                try:
                    result = self._store.apply_batch(items, self._clock())
                except StoreUnavailable:
                    raise
                except StoreError as exc:
                    result = self._store_one_by_one(batch, items, exc)
            except StoreUnavailable as exc:
                self._healthy_since = None
                self._stats.add("db_retries")
                if not outage_logged:
                    log.warning("database unavailable; holding %d messages unacked and retrying: %s", len(items), exc)
                    self._stats.add("db_outages")
                    outage_logged = True
                if stop.wait(delay):
                    return None
                delay = min(delay * 2, self._max_backoff_s)
                continue
            if self._healthy_since is None:
                log.info("database back; the held batch of %d messages is stored", len(items))
                self._healthy_since = time.monotonic()
            return result

    def _store_one_by_one(self, batch: Sequence[Inbound], items: Sequence[Item], cause: StoreError) -> BatchResult:
        log.error("the database refused a batch (%s); storing its %d messages one by one", cause, len(items))
        total = BatchResult()
        for inbound, item in zip(batch, items, strict=True):
            try:
                part = self._store.apply_batch([item], self._clock())
            except StoreUnavailable:
                raise
            except StoreError as exc:
                part = self._quarantine_refused(inbound, item, exc)
            total.stored += part.stored
            total.duplicates += part.duplicates
            total.quarantined.update(part.quarantined)
            total.ignored.update(part.ignored)
            total.transitions.extend(part.transitions)
        return total

    def _quarantine_refused(self, inbound: Inbound, item: Item, exc: StoreError) -> BatchResult:
        if isinstance(item, Rejected):
            log.error("could not quarantine a message on %s: %s; it is dropped", inbound.topic, exc)
            self._stats.add("dropped")
            return BatchResult()
        rejected = Rejected(inbound.topic, inbound.payload, inbound.received_at, STORE_REJECTED, str(exc))
        try:
            return self._store.apply_batch([rejected], self._clock())
        except StoreUnavailable:
            raise
        except StoreError:
            log.exception("could not quarantine a refused message on %s; it is dropped", inbound.topic)
            self._stats.add("dropped")
            return BatchResult()

    def _count(self, result: BatchResult) -> None:
        self._stats.add("stored", result.stored)
        self._stats.add("duplicates", result.duplicates)
        self._stats.add("batches")
        self._stats.add_by_code("quarantined", result.quarantined)
        self._stats.add_by_code("ignored", result.ignored)
        for code, n in result.quarantined.items():
            log.info("quarantined %d message(s): %s", n, code)
        for t in result.transitions:
            log.log(logging.WARNING if isinstance(t, WentOffline) else logging.INFO, "%s", describe(t))
