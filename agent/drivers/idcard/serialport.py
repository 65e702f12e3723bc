"""The only pyserial module: open a port, write a frame, read what arrives before a deadline.

pyserial is imported when a port is opened, so the package imports on machines without it.  Its errors
become :class:`PortUnavailable` here; an unplugged USB bridge or a closed pty shows up as one on the next
read or write, which is how the supervisor learns that the reader is gone.
"""

from __future__ import annotations

import contextlib
import time
from typing import TYPE_CHECKING

from agent.drivers.idcard.errors import PortUnavailable

if TYPE_CHECKING:
    import serial

try:
    from termios import error as _TermiosError
except ImportError:  # not a POSIX system: pyserial raises only OSError there
    _TermiosError = OSError  # type: ignore[misc,assignment]

# What a port can raise when its device goes away: pyserial's SerialException is an OSError, termios
# calls (flush, attributes) raise termios.error, and in_waiting's ioctl on a vanished fd raises TypeError.
PORT_ERRORS = (OSError, ValueError, TypeError, _TermiosError)

# How long one read may block before the caller gets to check its own deadline and stop flag.
READ_SLICE_S = 0.05


class SerialPort:
    def __init__(self, path: str, baudrate: int) -> None:
        try:
            import serial  # noqa: PLC0415  # hardware library, imported by the driver that uses it

            self._serial: serial.Serial = serial.Serial(
                path, baudrate=baudrate, bytesize=8, parity="N", stopbits=1, timeout=READ_SLICE_S, exclusive=True
            )
        except ImportError as exc:
            raise PortUnavailable("pyserial is not installed") from exc
        except PORT_ERRORS as exc:
            raise PortUnavailable(f"cannot open {path}: {_reason(exc)}") from exc
        self.path = path

    def write(self, data: bytes) -> None:
        try:
            self._serial.reset_input_buffer()
            self._serial.write(data)
        except PORT_ERRORS as exc:
            raise PortUnavailable(f"write to {self.path} failed: {_reason(exc)}") from exc

    def read(self, wanted: int, deadline: float) -> bytes:
        """Up to ``wanted`` bytes, returning early once ``wanted`` arrived or ``READ_SLICE_S`` passed with
        some data; empty only when the deadline passed with nothing.

        ``wanted`` comes from the frame parser, so it never asks past the end of a frame; ``in_waiting``
        is not used because its ioctl is not supported by every tty (umockdev's ptys refuse it)."""
        try:
            while True:
                chunk = self._serial.read(wanted)
                if chunk or time.monotonic() >= deadline:
                    return bytes(chunk)
        except PORT_ERRORS as exc:
            raise PortUnavailable(f"read from {self.path} failed: {_reason(exc)}") from exc

    def close(self) -> None:
        # Closing a port whose device is gone: there is nothing left to release.
        with contextlib.suppress(*PORT_ERRORS):
            self._serial.close()


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text[:160]
