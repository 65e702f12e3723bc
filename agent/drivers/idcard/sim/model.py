"""What a simulated SAM reader answers, and how the answer goes on the wire: pure, no pty, no clock.

:meth:`SamModel.answer` takes a request and returns a :class:`Reply`: the frame (or nothing, for
silence) and how to deliver it (junk first, split into small pieces, after a delay, cut short).  The
faults are the ones the driver must survive:

=====================  ==================================================================================
``silence``            no answer at all
``bad_checksum``       every answer with its checksum byte flipped
``split``              answers written a few bytes at a time
``delayed``            answers written after ``delay_s``
``junk``               random bytes before each answer's preamble
``sw3_60``             the SAM fails its self-test: every command answers SW3 60
``sw3_41``             reads fail with SW3 41 (the card stays on the reader)
``sw3_80``             reads answer SW3 80: the card was taken away before the read
``removed_mid_read``   the read answer stops half way and the card is gone
=====================  ==================================================================================
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

from agent.drivers.idcard import frames
from agent.drivers.idcard.commands import Command
from agent.drivers.idcard.frames import Request
from agent.drivers.idcard.replies import join_read
from agent.drivers.idcard.sim.cards import GeneratedCard
from agent.drivers.idcard.status import Sw3


class Fault(StrEnum):
    SILENCE = "silence"
    BAD_CHECKSUM = "bad_checksum"
    SPLIT = "split"
    DELAYED = "delayed"
    JUNK = "junk"
    SW3_60 = "sw3_60"
    SW3_41 = "sw3_41"
    SW3_80 = "sw3_80"
    REMOVED_MID_READ = "removed_mid_read"


@dataclass(frozen=True, slots=True)
class Reply:
    frame: bytes | None
    junk: bytes = b""
    split: bool = False
    delay_s: float = 0.0
    cut_at: int | None = None

    def __repr__(self) -> str:
        # A read answer carries a (generated) identity: keep it out of anything that prints replies.
        size = None if self.frame is None else len(self.frame)
        return (
            f"Reply({size} bytes, junk={len(self.junk)}, split={self.split}, delay={self.delay_s}, cut={self.cut_at})"
        )


class SamModel:
    def __init__(self, sam_id: bytes, *, seed: int = 0, delay_s: float = 0.3) -> None:
        self.sam_id = sam_id
        self.delay_s = delay_s
        self.card: GeneratedCard | None = None
        self.fault: Fault | None = None
        # Benchmark mode: after every good read the card is away for one find, then the deck's next is down.
        self.deck: list[GeneratedCard] = []
        self._dealt = 0
        self.requests: Counter[str] = Counter()
        self._swap_gap = False
        self._rng = random.Random(seed)  # noqa: S311  # simulated noise, not secrets

    def answer(self, request: Request) -> Reply:
        command = Command.of(request.cmd, request.para)
        self.requests[command.name if command else "unknown"] += 1
        if self.fault is Fault.SILENCE:
            return Reply(None)
        frame, cut = self._frame(command)
        return self._deliver(frame, cut)

    def _frame(self, command: Command | None) -> tuple[bytes, int | None]:
        if command is None:
            return frames.response(Sw3.COMMAND_ERROR), None
        if self.fault is Fault.SW3_60 and command is not Command.RESET:
            return frames.response(Sw3.SAM_SELF_TEST_FAILED), None
        if command in (Command.RESET, Command.SAM_STATUS):
            return frames.response(Sw3.OK), None
        if command is Command.SAM_ID:
            return frames.response(Sw3.OK, self.sam_id), None
        if command is Command.FIND:
            if self._swap_gap:
                self._swap_gap = False
                return frames.response(Sw3.NO_CARD, bytes(4)), None
            found = self.card is not None
            return frames.response(Sw3.CARD_FOUND if found else Sw3.NO_CARD, bytes(4)), None
        if command is Command.SELECT:
            if self.card is None:
                return frames.response(Sw3.NO_CARD, bytes(8)), None
            return frames.response(Sw3.OK, self._rng.randbytes(8)), None
        return self._read()

    def _read(self) -> tuple[bytes, int | None]:
        card = self.card
        if card is None:
            return frames.response(Sw3.NO_CARD), None
        if self.fault is Fault.SW3_41:
            return frames.response(Sw3.READ_FAILED), None
        if self.fault is Fault.SW3_80:
            self.card = None
            return frames.response(Sw3.NO_CARD), None
        frame = frames.response(Sw3.OK, join_read(card.text_block(), card.photo))
        if self.fault is Fault.REMOVED_MID_READ:
            self.card = None
            return frame, len(frame) // 2
        if self.deck:
            self._swap_gap = True
            self._dealt += 1
            self.card = self.deck[self._dealt % len(self.deck)]
        return frame, None

    def _deliver(self, frame: bytes, cut: int | None) -> Reply:
        fault = self.fault
        if fault is Fault.BAD_CHECKSUM:
            frame = frame[:-1] + bytes([frame[-1] ^ 0x5A])
        junk = b""
        if fault is Fault.JUNK:
            # No 0xAA in the junk: a made-up preamble would be a different fault.
            junk = bytes(self._rng.choice(range(0x00, 0xAA)) for _ in range(self._rng.randint(1, 40)))
        return Reply(
            frame,
            junk=junk,
            split=fault is Fault.SPLIT,
            delay_s=self.delay_s if fault is Fault.DELAYED else 0.0,
            cut_at=cut,
        )
