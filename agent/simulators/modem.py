"""A cellular modem on a pseudo-terminal, answering AT commands from a scripted state.

    normal      registered on LTE, good RSRP/RSRQ
    jammed      not registered (searching), no operator, signal unknown, +CSQ unknown
    transition  still registered, but RSRP/RSRQ collapsing, while +CSQ looks fine (a jammer's own energy)
    error       every command answered ERROR (no SIM, a confused modem)
    silent      no answer at all (hung firmware, unplugged antenna board)

With ``urc=True`` it slips unsolicited lines (+CEREG: <stat>, RING, +CMTI) in before and between the
lines of its replies, as real modems do; with ``echo=True`` it echoes commands (a modem left in ATE1).
``path`` is the tty to open, like /dev/ttyUSB2.  Given ``master_fd`` (the controlling side of a pty
made elsewhere, e.g. umockdev's fake /dev/ttyUSB2), it answers there and ``path`` is None.  Run
``python -m agent.simulators.modem --script normal:30,jammed:60`` for a modem to point an agent at.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import select
import sys
import threading
import time
import tty
from collections.abc import Sequence
from typing import Final, Literal, cast, get_args

ModemState = Literal["normal", "jammed", "transition", "error", "silent"]
STATES: Final = get_args(ModemState)

_ANSWERS: Final[dict[str, dict[str, str]]] = {
    "normal": {
        "AT+CEREG?": "+CEREG: 0,1",
        "AT+C5GREG?": "+C5GREG: 0,0",
        "AT+COPS?": '+COPS: 0,0,"CHINA MOBILE",7',
        "AT+CESQ": "+CESQ: 99,99,255,255,28,55",
        "AT+CSQ": "+CSQ: 22,99",
    },
    "jammed": {
        "AT+CEREG?": "+CEREG: 0,2",
        "AT+C5GREG?": "+C5GREG: 0,0",
        "AT+COPS?": "+COPS: 0",
        "AT+CESQ": "+CESQ: 99,99,255,255,255,255",
        "AT+CSQ": "+CSQ: 99,99",
    },
    "transition": {
        "AT+CEREG?": "+CEREG: 0,1",
        "AT+C5GREG?": "+C5GREG: 0,0",
        "AT+COPS?": '+COPS: 0,0,"CHINA MOBILE",7',
        "AT+CESQ": "+CESQ: 99,99,255,255,2,9",
        "AT+CSQ": "+CSQ: 24,99",
    },
}
_URC_STAT: Final = {"normal": 1, "jammed": 2, "transition": 1, "error": 0, "silent": 0}


class ModemSimulator:
    def __init__(
        self, state: ModemState = "normal", *, urc: bool = False, echo: bool = False, master_fd: int | None = None
    ) -> None:
        self._state: ModemState = state
        self.urc = urc
        self.echo = echo
        self.commands: list[str] = []
        self.path: str | None = None
        if master_fd is None:
            self._master, slave = os.openpty()
            # Raw: no echo or line editing by the tty itself; the simulated modem decides what goes back.
            tty.setraw(slave)
            self.path = os.ttyname(slave)
            self._own: tuple[int, ...] = (self._master, slave)
        else:
            # The pty's owner closes it; ours is only to stop answering.
            self._master, self._own = master_fd, ()
        self._closed = False
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="modem-sim", daemon=True)
        self._thread.start()

    @property
    def state(self) -> ModemState:
        with self._lock:
            return self._state

    def set_state(self, state: ModemState) -> None:
        with self._lock:
            self._state = state

    def play(self, script: Sequence[tuple[ModemState, float]]) -> None:
        """Go through ``(state, seconds)`` steps, blocking; the last state stays."""
        for state, seconds in script:
            self.set_state(state)
            if self._stop.wait(seconds):
                return

    def close(self) -> None:
        """Stop answering and hang up: a client still holding the tty sees the modem vanish."""
        if self._stop.is_set() and not self._thread.is_alive() and self._closed:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        if not self._closed:
            # Once only: a second os.close could hit a descriptor number reused by someone else.
            self._closed = True
            for fd in self._own:
                with contextlib.suppress(OSError):
                    os.close(fd)

    def __enter__(self) -> ModemSimulator:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _serve(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], 0.05)
            if not ready:
                continue
            try:
                buffer += os.read(self._master, 1024)
            except OSError:
                if not self._own:
                    # An outside pty nobody has open yet (or any more): wait for the driver to open it.
                    time.sleep(0.02)
                    continue
                return
            while b"\r" in buffer:
                raw, buffer = buffer.split(b"\r", 1)
                command = raw.decode("ascii", errors="replace").strip()
                if command:
                    self._answer(command)

    def _answer(self, command: str) -> None:
        self.commands.append(command)
        state = self.state
        if state == "silent":
            return
        out: list[str] = []
        if self.echo:
            out.append(command)
        if self.urc:
            out.append(f"+CEREG: {_URC_STAT[state]}")
        if state == "error":
            out.append("ERROR")
        else:
            line = _ANSWERS[state].get(command.upper())
            if line is not None:
                out.append(line)
            if self.urc:
                out += ["RING", '+CMTI: "SM",3']
            out.append("OK" if line is not None or command.upper() in ("AT", "ATE0", "ATE1") else "ERROR")
        text = "".join(f"{line}\r\n" if line == command else f"\r\n{line}\r\n" for line in out)
        try:
            os.write(self._master, text.encode("ascii"))
        except OSError:
            self._stop.set()


def _parse_script(text: str) -> list[tuple[ModemState, float]]:
    steps: list[tuple[ModemState, float]] = []
    for part in text.split(","):
        name, _, seconds = part.partition(":")
        if name not in STATES:
            raise argparse.ArgumentTypeError(f"unknown state {name!r} (known: {', '.join(STATES)})")
        steps.append((cast(ModemState, name), float(seconds or "inf")))
    return steps


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="A simulated cellular probe modem on a pseudo-terminal.")
    parser.add_argument("--script", type=_parse_script, default=[("normal", float("inf"))], help="state:seconds,…")
    parser.add_argument("--urc", action="store_true", help="slip unsolicited lines into replies")
    args = parser.parse_args(argv)
    with ModemSimulator(args.script[0][0], urc=args.urc) as modem:
        print(modem.path, flush=True)
        try:
            modem.play(args.script)
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
