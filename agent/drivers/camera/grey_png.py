"""The reference view's PNG, read without OpenCV's image codecs: 8-bit grey, unfiltered rows, as
:func:`encode` writes it.

Decoding one small PNG through ``cv2.imdecode`` at start-up mapped 0.5 MB of code into every agent (it
probes each codec OpenCV carries, AVIF included, before libpng decodes), measured in ``bench/camera.py``
(issue 5).  An unfiltered grey PNG is a zlib stream of rows each led by a zero byte, so Python's zlib
reads it.  :func:`decode` returns ``None`` for any other PNG (a reference edited by hand, or written by
an older agent), which the caller then hands to OpenCV; a damaged file is a :class:`ValueError`.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

import cv2
import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
# IHDR: bit depth 8, colour type 0 (grey), compression 0, filter method 0, no interlace.
GREY8 = (8, 0, 0, 0, 0)


def encode(grey: np.ndarray[Any, Any]) -> bytes:
    """``grey`` (2-D uint8) as a PNG of unfiltered rows."""
    if grey.ndim != 2 or grey.dtype != np.uint8:
        raise ValueError(f"expected a 2-D uint8 image, got {grey.dtype} of shape {grey.shape}")
    ok, png = cv2.imencode(".png", grey, [cv2.IMWRITE_PNG_FILTER, cv2.IMWRITE_PNG_FILTER_NONE])
    if not ok:
        raise ValueError("OpenCV could not encode the image as PNG")
    return bytes(png)


def decode(data: bytes) -> np.ndarray[Any, Any] | None:
    """The image of an 8-bit grey PNG with unfiltered rows; ``None`` for a valid PNG of any other kind."""
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG (no PNG signature)")
    header: tuple[int, ...] | None = None
    idat: list[bytes] = []
    at = len(SIGNATURE)
    while True:
        if at + 8 > len(data):
            raise ValueError("PNG ends before its IEND chunk")
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        body = data[at + 8 : at + 8 + length]
        crc = data[at + 8 + length : at + 12 + length]
        if len(body) != length or len(crc) != 4:
            raise ValueError(f"PNG chunk {kind!r} is cut short")
        if zlib.crc32(kind + body) != struct.unpack(">I", crc)[0]:
            raise ValueError(f"PNG chunk {kind!r} fails its CRC")
        at += 12 + length
        if kind == b"IHDR":
            if length != 13:
                raise ValueError(f"PNG IHDR chunk is {length} bytes, expected 13")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without an IHDR chunk")
    width, height, *form = header
    if tuple(form) != GREY8:
        return None
    try:
        raw = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise ValueError(f"PNG image data does not inflate: {exc}") from exc
    if len(raw) != height * (width + 1):
        raise ValueError(f"PNG image data is {len(raw)} bytes, expected {height * (width + 1)} for {width}×{height}")
    rows = np.frombuffer(raw, dtype=np.uint8).reshape(height, width + 1)
    if rows[:, 0].any():
        return None  # filtered rows: OpenCV (libpng) undoes the filters
    return rows[:, 1:].copy()
