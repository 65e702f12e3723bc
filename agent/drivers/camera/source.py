"""What a camera's ``source`` string names, parsed without touching anything.

rtsp://[user:pass@]host[:port]/path   an IP camera (FFmpeg backend, open and read timeouts)
/dev/video0, /dev/v4l/by-id/…         a USB (V4L2) camera by device node
usb:<ID_SERIAL>                        a USB camera by its udev serial, found again after replugging
file:<path> or any other path          a video file or GIF (tests, replays); relative to the config folder
synthetic[:<seed>]                     a generated room with people walking in and out (the demo)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

SourceKind = Literal["rtsp", "usb", "file", "synthetic"]

_SYNTHETIC = re.compile(r"^synthetic(?::(?P<seed>\d{1,9}))?$")


@dataclass(frozen=True, slots=True)
class SourceSpec:
    kind: SourceKind
    # The URL, device node, udev serial (``by_serial``), file path or seed.
    target: str
    by_serial: bool = False

    def describe(self) -> str:
        """The source for logs and state details: never with a password."""
        if self.kind == "rtsp":
            return redact(self.target)
        if self.kind == "usb" and self.by_serial:
            return f"usb:{self.target}"
        if self.kind == "synthetic":
            return f"synthetic:{self.target}"
        return self.target


def parse_source(text: str) -> SourceSpec:
    """Parse a ``source`` value; raises ``ValueError`` (reported against the config key) when unusable."""
    text = text.strip()
    if not text:
        raise ValueError("source is empty")
    lower = text.lower()
    if lower.startswith(("rtsp://", "rtsps://")):
        parts = urlsplit(text)
        if not parts.hostname:
            raise ValueError(f"no host in RTSP URL {redact(text)!r}")
        return SourceSpec("rtsp", text)
    if "://" in text:
        raise ValueError(f"unsupported URL scheme in {redact(text)!r} (rtsp:// only)")
    synthetic = _SYNTHETIC.match(lower)
    if synthetic:
        return SourceSpec("synthetic", synthetic["seed"] or "0")
    if lower.startswith("synthetic"):
        raise ValueError(f"{text!r}: write 'synthetic' or 'synthetic:<seed>' (seed: digits)")
    if lower.startswith("usb:"):
        serial = text[4:]
        if not serial or any(c.isspace() or c == "/" for c in serial):
            raise ValueError(f"{text!r}: usb: needs the camera's udev ID_SERIAL (no spaces or '/')")
        return SourceSpec("usb", serial, by_serial=True)
    if text.startswith("/dev/"):
        return SourceSpec("usb", text)
    path = text[5:] if lower.startswith("file:") else text
    if not path:
        raise ValueError("file: needs a path")
    return SourceSpec("file", path)


def redact(url: str) -> str:
    """``url`` without its password (camera credentials must not reach logs or the hub)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))
