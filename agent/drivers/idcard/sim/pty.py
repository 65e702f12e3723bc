"""The simulator's I/O: a pty pair whose master side answers like a SAM reader, paced at the baud rate.

A pty moves bytes as fast as they are written, so the server paces its writes itself: a 1,295-byte read
answer takes ``1295 × 10 / baud`` seconds, as on a real 8N1 line.  The slave side is what a driver opens
(``path``, or a stable symlink ``link`` to it).  :meth:`unplug` closes the pair, so the driver's next read
fails the way an unplugged USB bridge does; :meth:`replug` makes a new pair behind the same link.

Control methods (:meth:`place`, :meth:`remove`, :meth:`set_fault`) may be called from any thread.
"""

from __future__ import annotations

import contextlib
import os
import random
import select
import threading
import time
import tty
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from agent.drivers.idcard.frames import Frame, FrameParser, Request
from agent.drivers.idcard.sim.cards import GeneratedCard
from agent.drivers.idcard.sim.model import Fault, Reply, SamModel
from agent.drivers.idcard.sim.script import Script

BITS_PER_BYTE = 10  # 8N1: start, 8 data, stop
PACE_SLICE_S = 0.004
SPLIT_GAP_S = 0.002


class PtySamReader:
    def __init__(
        self,
        model: SamModel,
        *,
        baud: int = 115200,
        link: Path | None = None,
        master_fd: int | None = None,
        script: Script | None = None,
        cards: Sequence[GeneratedCard] = (),
    ) -> None:
        if script is not None and len(cards) < script.cards:
            raise ValueError(f"the script needs {script.cards} cards, {len(cards)} given")
        self.model = model
        self.baud = baud
        self.link = link
        self.script = script
        self.cards = list(cards)
        self._external_fd = master_fd
        self._master: int | None = None
        self._slave: int | None = None
        self.slave_name: str | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random(0)  # noqa: S311  # simulated noise
        self._started = 0.0
        self._applied: tuple[int, int | None] | None = None
        self.replies = 0

    @property
    def path(self) -> str:
        if self.link is not None:
            return str(self.link)
        if self.slave_name is None:
            raise RuntimeError("the simulator is not started")
        return self.slave_name

    # -- lifecycle ----------------------------------------------------------------------------------------
    def start(self) -> None:
        self._started = time.monotonic()
        self._open()
        self._serve()

    def close(self) -> None:
        self._halt()
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()

    def unplug(self) -> None:
        self.close()

    def replug(self) -> None:
        self._open()
        self._serve()

    def __enter__(self) -> PtySamReader:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- control ------------------------------------------------------------------------------------------
    def place(self, card: GeneratedCard) -> None:
        with self._lock:
            self.model.card = card

    def remove(self) -> None:
        with self._lock:
            self.model.card = None

    def set_fault(self, fault: Fault | None, delay_s: float | None = None) -> None:
        with self._lock:
            self.model.fault = fault
            if delay_s is not None:
                self.model.delay_s = delay_s

    def card_present(self) -> bool:
        with self._lock:
            return self.model.card is not None

    def requests(self) -> Counter[str]:
        with self._lock:
            return self.model.requests.copy()

    # -- the pty ------------------------------------------------------------------------------------------
    def _open(self) -> None:
        if self._external_fd is not None:
            self._master = self._external_fd
            return
        master, slave = os.openpty()
        # Raw from the start: with the default line discipline a reply written before the driver sets
        # raw mode would be echoed back to us as a request.
        tty.setraw(slave)
        self._master, self._slave = master, slave
        self.slave_name = os.ttyname(slave)
        if self.link is not None:
            tmp = self.link.with_name(self.link.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_name)
            tmp.replace(self.link)

    def _serve(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sam-sim", daemon=True)
        self._thread.start()

    def _halt(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(5)
        if self._external_fd is None:
            for fd in (self._master, self._slave):
                if fd is not None:
                    with contextlib.suppress(OSError):
                        os.close(fd)
        self._master = self._slave = None

    def _run(self) -> None:
        master = self._master
        assert master is not None
        parser = FrameParser()
        while not self._stop.is_set():
            self._follow_script()
            ready, _, _ = select.select([master], [], [], 0.02)
            if not ready:
                continue
            try:
                data = os.read(master, 4096)
            except OSError:  # nobody has the slave open (only with an outside fd): wait for someone
                time.sleep(0.02)
                continue
            for item in parser.feed(data):
                if not isinstance(item, Frame):
                    continue
                request = Request.from_frame(item)
                if request is None:
                    continue
                with self._lock:
                    reply = self.model.answer(request)
                self._send(master, reply)

    def _follow_script(self) -> None:
        if self.script is None:
            return
        step = self.script.at(time.monotonic() - self._started)
        with self._lock:
            if self.model.fault is not step.fault:
                self.model.fault = step.fault
            # Only on a change of slot or card: a card the model took away (removed mid-read) stays away.
            if (step.slot, step.card) != self._applied:
                self._applied = (step.slot, step.card)
                self.model.card = None if step.card is None else self.cards[step.card]

    def _send(self, fd: int, reply: Reply) -> None:
        if reply.frame is None:
            return
        if reply.delay_s and self._stop.wait(reply.delay_s):
            return
        data = reply.junk + (reply.frame if reply.cut_at is None else reply.frame[: reply.cut_at])
        try:
            if reply.split:
                self._write_split(fd, data)
            else:
                self._write_paced(fd, data)
        except OSError:  # the driver went away mid-answer
            return
        self.replies += 1

    def _write_paced(self, fd: int, data: bytes) -> None:
        if not self.baud:
            os.write(fd, data)
            return
        per_byte = BITS_PER_BYTE / self.baud
        chunk = max(1, int(PACE_SLICE_S / per_byte))
        start = time.monotonic()
        for offset in range(0, len(data), chunk):
            piece = data[offset : offset + chunk]
            # A slice is handed over when the line would have finished shifting it out.
            wait = start + (offset + len(piece)) * per_byte - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            os.write(fd, piece)

    def _write_split(self, fd: int, data: bytes) -> None:
        """A few bytes at a time, each piece on its own, but no slower than the line: it is the reader's
        parser that is under test, not its patience."""
        per_byte = BITS_PER_BYTE / self.baud if self.baud else SPLIT_GAP_S / 4
        start = time.monotonic()
        offset = 0
        while offset < len(data):
            size = self._rng.randint(1, 7)
            os.write(fd, data[offset : offset + size])
            offset += size
            wait = start + offset * per_byte - time.monotonic()
            # A real pause between pieces now and then, so they arrive as separate reads.
            time.sleep(max(wait, SPLIT_GAP_S if self._rng.random() < 0.1 else 0.0))
