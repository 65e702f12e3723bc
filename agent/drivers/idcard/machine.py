"""A reader's states and health, as a pure machine: it says what to send next and learns from each outcome.

::

    absent ──attached──▶ probing ──status 90, SAM id──▶ ready ──find 9F──▶ card_present ──select 90──▶ reading
       ▲                  │  never answered                ▲ ▲                                            │
       └──── Release ◀────┘                                │ └── find 80 ── waiting_removal ◀── read done ┘
                                     fault ◀── SAM fault (SW3 60/66), or max_failures timeouts/garbled in a row
                                       └── status 90, SAM id ──▶ ready

A port is a reader only once SAM status has answered; a port that never answers is released (the
supervisor closes it and tries again later) instead of being reported as a broken reader.  Once a card
is read the machine waits for it to be taken away, so one card on the reader is one check-in.

Nothing here touches a port or a clock: the supervisor passes monotonic times in and does the I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

from agent.drivers.idcard.commands import Command
from agent.drivers.idcard.frames import Response
from agent.drivers.idcard.replies import ReadData, ReplyError, format_sam_id, split_read
from agent.drivers.idcard.status import SAM_FAULTS, Sw3, code, describe

ReaderState = Literal["absent", "probing", "ready", "card_present", "reading", "waiting_removal", "fault"]


@dataclass(frozen=True, slots=True)
class Timing:
    timeout_s: float = 0.5
    read_timeout_s: float = 2.0
    find_interval_s: float = 0.25
    status_interval_s: float = 10.0
    retry_s: float = 2.0
    max_failures: int = 3


# What one exchange came to.
@dataclass(frozen=True, slots=True)
class Answered:
    response: Response


@dataclass(frozen=True, slots=True)
class TimedOut:
    pass


@dataclass(frozen=True, slots=True)
class Garbled:
    kind: Literal["checksum", "length"]


Outcome = Answered | TimedOut | Garbled


# What the machine wants done.
@dataclass(frozen=True, slots=True)
class Send:
    command: Command
    timeout_s: float


@dataclass(frozen=True, slots=True)
class Wait:
    until: float


@dataclass(frozen=True, slots=True)
class Release:
    """Close the port: it is not (this device's) reader.  The machine is already back to "absent"."""

    reason: str


Action = Send | Wait | Release


# What happened, for the supervisor to turn into events.
@dataclass(frozen=True, slots=True)
class Identified:
    sam_id: str


@dataclass(frozen=True, slots=True)
class CardRead:
    data: ReadData
    latency_s: float


@dataclass(frozen=True, slots=True)
class ReadFailed:
    code: str
    latency_s: float


@dataclass(frozen=True, slots=True)
class FaultBegan:
    reason: str


@dataclass(frozen=True, slots=True)
class FaultEnded:
    pass


Happening = Identified | CardRead | ReadFailed | FaultBegan | FaultEnded


@dataclass(slots=True)
class Health:
    last_ok: float | None = None
    timeouts: int = 0
    checksum_errors: int = 0
    length_errors: int = 0
    sw3: Counter[int] = field(default_factory=Counter)
    reads_ok: int = 0
    reads_failed: int = 0
    read_s_last: float | None = None
    read_s_total: float = 0.0
    read_s_max: float = 0.0
    attaches: int = 0


class ReaderMachine:
    def __init__(self, timing: Timing, sam_pin: str | None = None) -> None:
        self.timing = timing
        self.sam_pin = sam_pin
        self.state: ReaderState = "absent"
        self.health = Health()
        self.sam_id: str | None = None
        self.fault_reason: str | None = None
        self.absent_reason: str | None = "no port found yet"
        self._due = 0.0
        self._next_status = 0.0
        self._failures = 0
        self._answered = False
        self._status_ok = False
        self._card_at: float | None = None
        self._release: str | None = None

    # -- port lifecycle (from the supervisor) -------------------------------------------------------------
    def attached(self, mono: float) -> None:
        self.state = "probing"
        self.health.attaches += 1
        self.absent_reason = None
        self.fault_reason = None
        self._due = mono
        self._failures = 0
        self._answered = False
        self._status_ok = False
        self._card_at = None
        self._release = None

    def detached(self, reason: str) -> None:
        self.state = "absent"
        self.absent_reason = reason
        self.fault_reason = None
        self._card_at = None
        self._release = None

    # -- the loop -----------------------------------------------------------------------------------------
    def next_action(self, mono: float) -> Action:
        if self._release is not None:
            reason, self._release = self._release, None
            return Release(reason)
        if self.state == "absent":
            return Wait(mono + self.timing.retry_s)
        if mono < self._due:
            return Wait(self._due)
        command = self._command(mono)
        return Send(command, self.timing.read_timeout_s if command is Command.READ else self.timing.timeout_s)

    def _command(self, mono: float) -> Command:
        if self.state in ("probing", "fault"):
            return Command.SAM_ID if self._status_ok else Command.SAM_STATUS
        if self.state == "card_present":
            return Command.SELECT
        if self.state == "reading":
            return Command.READ
        return Command.SAM_STATUS if mono >= self._next_status else Command.FIND

    def outcome(self, command: Command, outcome: Outcome, mono: float) -> list[Happening]:
        if self.state == "absent":
            return []  # a late answer after the port was given up
        if isinstance(outcome, TimedOut):
            self.health.timeouts += 1
            return self._failed(command, "timeout", mono)
        if isinstance(outcome, Garbled):
            if outcome.kind == "checksum":
                self.health.checksum_errors += 1
            else:
                self.health.length_errors += 1
            return self._failed(command, outcome.kind, mono)
        return self._answered_with(command, outcome.response, mono)

    # -- outcomes -----------------------------------------------------------------------------------------
    def _failed(self, command: Command, why: str, mono: float) -> list[Happening]:
        self._failures += 1
        out: list[Happening] = []
        if command in (Command.SELECT, Command.READ) and self._card_at is not None:
            out.append(self._read_failed(why, mono))
            self._to("waiting_removal", mono + self.timing.find_interval_s)
        if self._failures >= self.timing.max_failures:
            if not self._answered:
                self.detached(f"no SAM reader answered ({self._failures} × {why})")
                self._release = self.absent_reason
                return out
            if self.state != "fault":
                out.append(self._fault(f"reader not answering ({self._failures} × {why} in a row)", mono))
        if self.state == "fault":
            self._due = mono + self.timing.retry_s
        elif self.state in ("ready", "waiting_removal"):
            self._due = mono + self.timing.find_interval_s
        else:
            self._due = mono
        return out

    def _answered_with(self, command: Command, response: Response, mono: float) -> list[Happening]:
        sw3 = response.sw3
        self.health.sw3[sw3] += 1
        self.health.last_ok = mono
        self._failures = 0
        self._answered = True
        if sw3 in SAM_FAULTS:
            out: list[Happening] = []
            if self._card_at is not None:
                out.append(self._read_failed(code(sw3), mono))
            return out + self._faulty(f"SAM: {describe(sw3)}", mono)
        if command is Command.SAM_STATUS:
            return self._status(sw3, mono)
        if command is Command.SAM_ID:
            return self._identity(response, mono)
        if command is Command.FIND:
            return self._find(sw3, mono)
        if command is Command.SELECT:
            return self._select(sw3, mono)
        if command is Command.READ:
            return self._read(response, mono)
        return []

    def _status(self, sw3: int, mono: float) -> list[Happening]:
        if sw3 != Sw3.OK:
            return self._faulty(f"SAM status answered {describe(sw3)}", mono)
        if self.state in ("probing", "fault"):
            self._status_ok = True
            self._due = mono
        else:
            self._next_status = mono + self.timing.status_interval_s
        return []

    def _identity(self, response: Response, mono: float) -> list[Happening]:
        if response.sw3 != Sw3.OK:
            self._status_ok = False
            return self._faulty(f"SAM id answered {describe(response.sw3)}", mono)
        try:
            sam_id = format_sam_id(response.data)
        except ReplyError as exc:
            self._status_ok = False
            return self._faulty(f"SAM id reply unusable: {exc}", mono)
        if self.sam_pin is not None and sam_id != self.sam_pin:
            self.detached(f"SAM {sam_id} is not this device's reader (expected {self.sam_pin})")
            self._release = self.absent_reason
            return []
        out: list[Happening] = [FaultEnded()] if self.state == "fault" else []
        if self.state == "probing" or sam_id != self.sam_id:
            out.append(Identified(sam_id))
        self.sam_id = sam_id
        self.fault_reason = None
        self._next_status = mono + self.timing.status_interval_s
        self._to("ready", mono)
        return out

    def _find(self, sw3: int, mono: float) -> list[Happening]:
        if sw3 == Sw3.CARD_FOUND and self.state == "ready":
            self._card_at = mono
            self._to("card_present", mono)
        elif sw3 == Sw3.NO_CARD and self.state == "waiting_removal":
            self._to("ready", mono + self.timing.find_interval_s)
        else:
            self._due = mono + self.timing.find_interval_s
        return []

    def _select(self, sw3: int, mono: float) -> list[Happening]:
        if sw3 == Sw3.OK:
            self._to("reading", mono)
            return []
        if sw3 == Sw3.NO_CARD:
            # Taken away between find and select: no read was attempted, so there is nothing to report.
            self._card_at = None
            self._to("ready", mono + self.timing.find_interval_s)
            return []
        failed = self._read_failed(code(sw3), mono)
        self._to("waiting_removal", mono + self.timing.find_interval_s)
        return [failed]

    def _read(self, response: Response, mono: float) -> list[Happening]:
        if response.sw3 != Sw3.OK:
            failed = self._read_failed(code(response.sw3), mono)
            # "No card" means it is gone already: the next card must not wait for a removal.
            gone = response.sw3 == Sw3.NO_CARD
            self._to("ready" if gone else "waiting_removal", mono + self.timing.find_interval_s)
            return [failed]
        try:
            data = split_read(response.data)
        except ReplyError:
            failed = self._read_failed("bad_reply", mono)
            self._to("waiting_removal", mono + self.timing.find_interval_s)
            return [failed]
        latency = self._latency(mono)
        self.health.reads_ok += 1
        self.health.read_s_last = latency
        self.health.read_s_total += latency
        self.health.read_s_max = max(self.health.read_s_max, latency)
        self._to("waiting_removal", mono + self.timing.find_interval_s)
        return [CardRead(data, latency)]

    # -- helpers ------------------------------------------------------------------------------------------
    def _to(self, state: ReaderState, due: float) -> None:
        self.state = state
        self._due = due
        if state not in ("card_present", "reading"):
            self._card_at = None

    def _faulty(self, reason: str, mono: float) -> list[Happening]:
        """Enter "fault" (reported once), or, already there, try again after ``retry_s``."""
        if self.state == "fault":
            self._status_ok = False
            self._due = mono + self.timing.retry_s
            return []
        return [self._fault(reason, mono)]

    def _fault(self, reason: str, mono: float) -> FaultBegan:
        self.state = "fault"
        self.fault_reason = reason
        self._status_ok = False
        self._card_at = None
        self._due = mono + self.timing.retry_s
        return FaultBegan(reason)

    def _latency(self, mono: float) -> float:
        return 0.0 if self._card_at is None else max(0.0, mono - self._card_at)

    def _read_failed(self, why: str, mono: float) -> ReadFailed:
        self.health.reads_failed += 1
        failed = ReadFailed(why, self._latency(mono))
        self._card_at = None
        return failed
