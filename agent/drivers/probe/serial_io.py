"""The only module that imports pyserial: open a port by path or pyserial URL, write, read what is there.

pyserial raises ``SerialException`` for most things and plain ``OSError`` / ``termios.error`` for a few
(an unplugged USB modem); all become :class:`ProbePortError`.
"""

from __future__ import annotations

import contextlib
import errno

from agent.errors import DriverError

# How long one read waits for the first byte: short, so the worker notices a stop request promptly.
READ_WAIT_S = 0.05


class ProbePortError(DriverError):
    """The probe's serial port cannot be opened, or failed while in use."""


class ProbePort:
    def __init__(self, url: str, baudrate: int) -> None:
        try:
            import serial  # noqa: PLC0415  # a hardware library, imported by the driver that uses it
        except ImportError as exc:
            raise ProbePortError(f"pyserial is not installed: {exc}") from exc
        self.url = url
        self._counts = True
        try:
            self._port = serial.serial_for_url(url, baudrate=baudrate, timeout=READ_WAIT_S, write_timeout=1.0)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ProbePortError(f"cannot open {url}: {exc}") from exc

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except Exception as exc:  # pyserial's error zoo: SerialException, OSError, termios.error
            raise ProbePortError(f"{self.url}: write failed: {exc}") from exc

    def read(self) -> bytes:
        """Whatever has arrived, waiting up to ``READ_WAIT_S`` for the first byte; b"" if nothing came."""
        try:
            waiting = self._waiting()
            data: bytes = self._port.read(max(1, waiting))
        except Exception as exc:  # as in write()
            raise ProbePortError(f"{self.url}: read failed: {exc}") from exc
        return data

    def _waiting(self) -> int:
        if not self._counts:
            return 0
        try:
            return int(self._port.in_waiting)
        except OSError as exc:
            if exc.errno != errno.ENOTTY:
                raise
            # A tty without the byte-count ioctl (umockdev's emulated ones): read a byte at a time.
            self._counts = False
            return 0

    def close(self) -> None:
        # Closing a port that is already gone must not raise.
        with contextlib.suppress(Exception):
            self._port.close()
