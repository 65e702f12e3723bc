"""SAM serial frames, sans-I/O: bytes in, frames out.

    AA AA AA 96 69 | LEN_H LEN_L | body ... | CHK

``LEN`` (big-endian) counts every byte after it, ``CHK`` included, so a frame is ``7 + LEN`` bytes long;
``CHK`` is the XOR of every byte from ``LEN_H`` to the last body byte.  A request's body is
``CMD PARA [data]``, a response's ``SW1 SW2 SW3 [data]``.

:class:`FrameParser` takes bytes as they arrive (one at a time or many frames at once), skips anything
before a preamble, and yields a :class:`Frame` for each complete frame with a good checksum, or a
:class:`BadChecksum` / :class:`BadLength` for one that is not.  After an error it looks for the next
preamble *inside* the rejected bytes too, so a false preamble in line noise cannot swallow a real frame.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from operator import xor
from typing import Final

PREAMBLE: Final = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN: Final = len(PREAMBLE) + 2
# The longest reply we know of is text + photo + fingerprint (2,325 bytes); past this a length is noise.
MAX_LEN: Final = 4096
MIN_LEN: Final = 3  # a request's CMD PARA + CHK; a response has at least SW1 SW2 SW3 + CHK


def checksum(data: bytes | bytearray) -> int:
    return reduce(xor, data, 0)


def encode(body: bytes) -> bytes:
    """A whole frame around ``body`` (everything between LEN and CHK)."""
    if len(body) + 1 > MAX_LEN:
        raise ValueError(f"frame body of {len(body)} bytes is longer than the protocol allows")
    head = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + head + body + bytes([checksum(head + body)])


def request(cmd: int, para: int, data: bytes = b"") -> bytes:
    return encode(bytes([cmd, para]) + data)


def response(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    return encode(bytes([sw1, sw2, sw3]) + data)


@dataclass(frozen=True, slots=True)
class Frame:
    body: bytes

    def __repr__(self) -> str:
        # A read answer's body is a citizen's identity: a repr that ends up in a log must not carry it.
        return f"Frame({len(self.body)} body bytes)"


@dataclass(frozen=True, slots=True)
class BadChecksum:
    length: int
    expected: int
    got: int


@dataclass(frozen=True, slots=True)
class BadLength:
    length: int


Parsed = Frame | BadChecksum | BadLength


@dataclass(frozen=True, slots=True)
class Request:
    cmd: int
    para: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: Frame) -> Request | None:
        if len(frame.body) < 2:
            return None
        return cls(frame.body[0], frame.body[1], frame.body[2:])


@dataclass(frozen=True, slots=True)
class Response:
    sw1: int
    sw2: int
    sw3: int
    data: bytes

    @classmethod
    def from_frame(cls, frame: Frame) -> Response | None:
        if len(frame.body) < 3:
            return None
        return cls(frame.body[0], frame.body[1], frame.body[2], frame.body[3:])

    def __repr__(self) -> str:
        return f"Response(sw3={self.sw3:02x}, {len(self.data)} data bytes)"


class FrameParser:
    """Incremental: :meth:`feed` returns what the new bytes completed; counters say what was thrown away."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.junk_bytes = 0

    def reset(self) -> None:
        """Forget a partial frame (after a timeout: its rest, if it ever comes, is junk)."""
        self.junk_bytes += len(self._buf)
        self._buf.clear()

    def needed(self) -> int:
        """How many more bytes would complete the frame in progress (at least 1): a read size that never
        over-reads past a frame boundary and never waits for bytes that are not owed."""
        buf = self._buf
        if len(buf) < HEADER_LEN or buf[: len(PREAMBLE)] != PREAMBLE:
            return max(1, HEADER_LEN - len(buf))
        length = int.from_bytes(buf[len(PREAMBLE) : HEADER_LEN], "big")
        if not MIN_LEN <= length <= MAX_LEN:
            return 1
        return max(1, HEADER_LEN + length - len(buf))

    def feed(self, data: bytes) -> list[Parsed]:
        self._buf += data
        out: list[Parsed] = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)

    def _next(self) -> Parsed | None:
        buf = self._buf
        start = buf.find(PREAMBLE)
        if start < 0:
            # Keep a tail that could be the start of a preamble split across reads.
            keep = _partial_preamble(buf)
            self._drop(len(buf) - keep, junk=True)
            return None
        self._drop(start, junk=True)
        if len(buf) < HEADER_LEN:
            return None
        length = int.from_bytes(buf[len(PREAMBLE) : HEADER_LEN], "big")
        if not MIN_LEN <= length <= MAX_LEN:
            self._drop(1, junk=False)
            return BadLength(length)
        end = HEADER_LEN + length
        if len(buf) < end:
            return None
        expected = checksum(buf[len(PREAMBLE) : end - 1])
        got = buf[end - 1]
        if expected != got:
            self._drop(1, junk=False)
            return BadChecksum(length, expected, got)
        body = bytes(buf[HEADER_LEN : end - 1])
        self._drop(end, junk=False)
        return Frame(body)

    def _drop(self, count: int, *, junk: bool) -> None:
        if count <= 0:
            return
        if junk:
            self.junk_bytes += count
        del self._buf[:count]


def _partial_preamble(buf: bytearray) -> int:
    for keep in range(min(len(PREAMBLE) - 1, len(buf)), 0, -1):
        if buf[-keep:] == PREAMBLE[:keep]:
            return keep
    return 0
