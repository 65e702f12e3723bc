"""The data part of the two replies that carry any: SAM id and read text + photo."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SAM_ID_BYTES: Final = 16
TEXT_BYTES: Final = 256
PHOTO_BYTES: Final = 1024
READ_HEADER: Final = 4  # text length and photo length, 2 bytes big-endian each


class ReplyError(ValueError):
    """A reply's data does not have the shape its command promises."""


def format_sam_id(data: bytes) -> str:
    """The SAM id as readers print it (``05.01-20240517-0000012345-0123456789``).

    Two single-byte fields, then three little-endian 32-bit numbers; a reply too short for that is kept
    as hex so a reader with an odd SAM still gets a stable identity.
    """
    if len(data) < 14:
        if not data:
            raise ReplyError("SAM id reply has no data")
        return data.hex()
    a, b = data[0], data[1]
    c, d, e = (int.from_bytes(data[i : i + 4], "little") for i in (2, 6, 10))
    return f"{a:02d}.{b:02d}-{c:08d}-{d:010d}-{e:010d}"


def encode_sam_id(a: int, b: int, c: int, d: int, e: int) -> bytes:
    """The inverse of :func:`format_sam_id`, for the simulator."""
    return bytes([a, b]) + b"".join(n.to_bytes(4, "little") for n in (c, d, e)) + b"\x00\x00"


@dataclass(frozen=True, slots=True)
class ReadData:
    text: bytes
    photo: bytes

    def __repr__(self) -> str:
        return f"ReadData({len(self.text)} text bytes, {len(self.photo)} photo bytes)"


def split_read(data: bytes) -> ReadData:
    """``30 01`` reply data: text length, photo length, then the two blocks."""
    if len(data) < READ_HEADER:
        raise ReplyError(f"read reply of {len(data)} bytes has no length header")
    text_len = int.from_bytes(data[0:2], "big")
    photo_len = int.from_bytes(data[2:4], "big")
    if len(data) != READ_HEADER + text_len + photo_len:
        raise ReplyError(
            f"read reply of {len(data)} bytes does not match its header (text {text_len}, photo {photo_len})"
        )
    if text_len < TEXT_BYTES:
        raise ReplyError(f"read reply's text block is {text_len} bytes, expected {TEXT_BYTES}")
    text = data[READ_HEADER : READ_HEADER + text_len]
    return ReadData(text=text, photo=data[READ_HEADER + text_len :])


def join_read(text: bytes, photo: bytes) -> bytes:
    return len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big") + text + photo
