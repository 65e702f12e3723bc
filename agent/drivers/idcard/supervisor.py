"""One reader, supervised: a thread that finds the port, runs the :class:`ReaderMachine` over it and keeps going.

The thread owns the port and the machine.  The agent's loop never waits on it: :meth:`snapshot` and
:meth:`drain` take a lock held only around bookkeeping, never around I/O.  Card contents are decoded and
reduced to check-in facts inside this thread (:class:`CheckinPolicy`); only those facts are queued.

Every command has a timeout, every failure is counted, and nothing that goes wrong with a port (open
refused, unplugged mid-read, garbage, silence) ends the thread: it becomes a state and, where it matters,
an event.  Ports that turn out not to be readers are retried with a growing delay (up to
``MAX_BACKOFF_S``) so that a stranger's device on the same kind of USB bridge is not pestered.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import Final, Protocol

from agent.drivers.idcard import checkin, text
from agent.drivers.idcard.commands import Command
from agent.drivers.idcard.errors import CardDataError, PortUnavailable
from agent.drivers.idcard.frames import BadChecksum, BadLength, FrameParser, Response
from agent.drivers.idcard.machine import (
    Answered,
    CardRead,
    FaultBegan,
    FaultEnded,
    Garbled,
    Happening,
    Health,
    Identified,
    Outcome,
    ReaderMachine,
    ReaderState,
    ReadFailed,
    Release,
    Send,
    TimedOut,
    Timing,
)
from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.serialport import SerialPort
from agent.drivers.serial_hotplug import CandidateRule, TtyFinder
from protocol.messages import Scalar, Severity

log = logging.getLogger("sitewatch.agent.idcard")

MAX_BACKOFF_S: Final = 60.0
MAX_NOTICES: Final = 1000


class Port(Protocol):
    path: str

    def write(self, data: bytes) -> None: ...

    def read(self, wanted: int, deadline: float) -> bytes: ...

    def close(self) -> None: ...


OpenPort = Callable[[str, int], Port]


@dataclass(frozen=True, slots=True)
class Notice:
    """An event in the making: public facts only, stamped with the monotonic time it happened."""

    name: str
    severity: Severity
    mono: float
    details: dict[str, Scalar]


@dataclass(frozen=True, slots=True)
class ReaderSnapshot:
    state: ReaderState
    port: str | None
    sam_id: str | None
    fault_reason: str | None
    absent_reason: str | None
    health: Health
    junk_bytes: int
    io_errors: int
    repeats: int
    candidates_tried: int
    # "udev" when pyudev enumerates and monitors; "paths" when only `port` globs are looked at.
    hotplug: str
    udev_callback_errors: int


@dataclass(slots=True)
class CheckinPolicy:
    """What the supervisor needs to turn a read into check-in facts; swapped whole when provisioning changes."""

    room: str | None
    key: CandidateKey | None = None
    roster: frozenset[str] | None = None
    quiet_s: float = 5.0


class ReaderSupervisor:
    def __init__(
        self,
        *,
        name: str,
        rule: CandidateRule,
        baudrate: int,
        timing: Timing,
        policy: CheckinPolicy,
        sam_pin: str | None = None,
        hotplug: bool = True,
        open_port: OpenPort = SerialPort,
    ) -> None:
        self.name = name
        self.rule = rule
        self.baudrate = baudrate
        self.timing = timing
        self.policy = policy
        self._open_port = open_port
        self._machine = ReaderMachine(timing, sam_pin)
        self._parser = FrameParser()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: Port | None = None
        self._port_names: frozenset[str] = frozenset()
        self._finder = TtyFinder(rule, hotplug=hotplug, wake=self._wake, name=f"reader {name}")
        self._backoff: dict[str, tuple[int, float]] = {}
        self._notices: deque[Notice] = deque(maxlen=MAX_NOTICES)
        self._last_card: tuple[str, float] | None = None
        self._io_errors = 0
        self._repeats = 0
        self._tried = 0
        self._complained: str | None = None
        self._last_rejection = "candidate ports did not answer"
        self._today: date | None = None

    # -- public, any thread -------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"idcard-{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)

    def snapshot(self) -> ReaderSnapshot:
        with self._lock:
            m = self._machine
            health = replace(m.health, sw3=m.health.sw3.copy())
            return ReaderSnapshot(
                state=m.state,
                port=self._port.path if self._port is not None else None,
                sam_id=m.sam_id,
                fault_reason=m.fault_reason,
                absent_reason=m.absent_reason,
                health=health,
                junk_bytes=self._parser.junk_bytes,
                io_errors=self._io_errors,
                repeats=self._repeats,
                candidates_tried=self._tried,
                hotplug=self._finder.mode,
                udev_callback_errors=self._finder.callback_errors,
            )

    def drain(self) -> list[Notice]:
        with self._lock:
            out = list(self._notices)
            self._notices.clear()
            return out

    def set_policy(self, policy: CheckinPolicy) -> None:
        with self._lock:
            self.policy = policy

    def set_today(self, today: date) -> None:
        """The card-validity date, from the agent's clock (until the first poll, the system's)."""
        with self._lock:
            self._today = today

    # -- the thread ---------------------------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._finder.start()
            while not self._stop.is_set():
                try:
                    self._step()
                except Exception:  # a bug here must not silently end supervision of this reader
                    log.exception("reader %s: supervisor step failed", self.name)
                    self._lose_port("internal error")
                    self._sleep(self.timing.retry_s)
        finally:
            self._lose_port("driver closed", notify=False)
            self._finder.close()

    def _step(self) -> None:
        self._apply_hotplug()
        if self._port is None:
            if not self._attach():
                self._sleep(self._next_attempt_in())
            return
        with self._lock:
            action = self._machine.next_action(time.monotonic())
        if isinstance(action, Release):
            self._reject(self._port.path, action.reason)
            self._lose_port(action.reason, notify=False)
        elif isinstance(action, Send):
            self._send(action)
        else:
            self._sleep(action.until - time.monotonic())

    def _send(self, action: Send) -> None:
        port = self._port
        assert port is not None
        try:
            outcome = self._exchange(port, action.command, action.timeout_s)
        except PortUnavailable as exc:
            self._io_errors += 1
            # Not straight back: a port that fails on every read would otherwise be reopened in a tight loop.
            self._reject(port.path, str(exc))
            self._lose_port(str(exc))
            return
        with self._lock:
            happenings = self._machine.outcome(action.command, outcome, time.monotonic())
        for happening in happenings:
            self._report(happening, port.path)

    def _exchange(self, port: Port, command: Command, timeout_s: float) -> Outcome:
        self._parser.reset()
        port.write(command.frame())
        deadline = time.monotonic() + timeout_s
        while not self._stop.is_set():
            data = port.read(self._parser.needed(), deadline)
            for item in self._parser.feed(data):
                if isinstance(item, BadChecksum):
                    return Garbled("checksum")
                if isinstance(item, BadLength):
                    return Garbled("length")
                response = Response.from_frame(item)
                return Answered(response) if response is not None else Garbled("length")
            if time.monotonic() >= deadline:
                break
        return TimedOut()

    # -- ports --------------------------------------------------------------------------------------------
    def _attach(self) -> bool:
        found = self._finder.candidates()
        self._forget_backoff()
        now = time.monotonic()
        ready = [p for p in found if self._backoff.get(p, (0, 0.0))[1] <= now]
        if not ready:
            reason = self._finder.absent_reason() if not found else f"{self._last_rejection}; retrying"
            with self._lock:
                if self._machine.state != "absent" or self._machine.absent_reason != reason:
                    self._machine.detached(reason)
            return False
        for path in ready:
            self._tried += 1
            try:
                port = self._open_port(path, self.baudrate)
            except PortUnavailable as exc:
                self._reject(path, str(exc))
                self._complain(str(exc))
                continue
            self._complained = None
            self._port = port
            self._port_names = self._finder.names_of(path)
            with self._lock:
                self._machine.attached(time.monotonic())
            return True
        return False

    def _lose_port(self, reason: str, *, notify: bool = True) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        port.close()
        self._port_names = frozenset()
        with self._lock:
            was = self._machine.state
            self._machine.detached(reason)
            known = was not in ("absent", "probing")
            if notify and known:
                self._notify(
                    "idcard.reader_lost",
                    "warning",
                    {"port": port.path, "reason": reason, "sam_id": self._machine.sam_id, "room": self.policy.room},
                )
        if notify and known:
            log.warning("reader %s lost on %s: %s", self.name, port.path, reason)

    def _reject(self, path: str, reason: str) -> None:
        self._last_rejection = f"{path}: {reason}"
        count, _ = self._backoff.get(path, (0, 0.0))
        delay = min(MAX_BACKOFF_S, self.timing.retry_s * 2**count)
        self._backoff[path] = (count + 1, time.monotonic() + delay)

    def _next_attempt_in(self) -> float:
        now = time.monotonic()
        waits = [until - now for _, until in self._backoff.values() if until > now]
        return min([self.timing.retry_s, *waits])

    def _apply_hotplug(self) -> None:
        if self._finder.refresh(self._port_names) and self._port is not None:
            self._lose_port("device removed")
        self._forget_backoff()

    def _forget_backoff(self) -> None:
        # Plugged in again (or re-described): worth trying at once, whatever failed before.
        for name in self._finder.take_plugged():
            self._backoff.pop(name, None)

    # -- reporting ----------------------------------------------------------------------------------------
    def _report(self, happening: Happening, port: str) -> None:
        if isinstance(happening, CardRead):
            self._card_read(happening)
            return
        with self._lock:
            sam_id = self._machine.sam_id
            room = self.policy.room
            if isinstance(happening, ReadFailed):
                details = checkin.read_failed(
                    room=room, reader=sam_id, code=happening.code, read_ms=round(happening.latency_s * 1000)
                )
                self._notify(checkin.EVENT, "warning", details)
            elif isinstance(happening, Identified):
                self._notify("idcard.reader_online", "info", {"port": port, "sam_id": sam_id, "room": room})
            elif isinstance(happening, FaultBegan):
                self._notify(
                    "idcard.reader_fault", "critical", {"reason": happening.reason, "sam_id": sam_id, "room": room}
                )
            elif isinstance(happening, FaultEnded):
                self._notify("idcard.reader_recovered", "info", {"sam_id": sam_id, "room": room})
        if isinstance(happening, Identified):
            log.info("reader %s online on %s: SAM %s", self.name, port, happening.sam_id)
        elif isinstance(happening, FaultBegan):
            log.warning("reader %s fault: %s", self.name, happening.reason)
        elif isinstance(happening, FaultEnded):
            log.info("reader %s recovered", self.name)

    def _card_read(self, read: CardRead) -> None:
        with self._lock:
            policy = self.policy
            sam_id = self._machine.sam_id
            today = self._today or checkin.card_day(datetime.now(UTC))
        read_ms = round(read.latency_s * 1000)
        try:
            record = text.decode(read.data.text, read.data.photo)
        except CardDataError as exc:
            log.warning("reader %s: unreadable card data: %s", self.name, exc)
            details = checkin.read_failed(room=policy.room, reader=sam_id, code="bad_text", read_ms=read_ms)
            with self._lock:
                self._notify(checkin.EVENT, "warning", details)
            return
        severity, details = checkin.read_ok(
            record,
            room=policy.room,
            reader=sam_id,
            key=policy.key,
            roster=policy.roster,
            today=today,
            read_ms=read_ms,
        )
        del record  # the personal data ends here
        same = str(details["candidate"] or details["masked"])
        now = time.monotonic()
        with self._lock:
            last = self._last_card
            self._last_card = (same, now)
            if last is not None and last[0] == same and now - last[1] < policy.quiet_s:
                # The same card lifted and put back at once: one check-in, not two.
                self._repeats += 1
                return
            self._notify(checkin.EVENT, severity, details)

    def _notify(self, name: str, severity: Severity, details: dict[str, Scalar]) -> None:
        """Caller holds the lock."""
        self._notices.append(Notice(name, severity, time.monotonic(), details))

    def _complain(self, text: str) -> None:
        if text != self._complained:
            log.warning("reader %s: %s", self.name, text)
            self._complained = text

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._wake.wait(seconds)
        self._wake.clear()
