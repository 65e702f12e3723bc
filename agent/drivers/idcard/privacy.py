"""What may be said about a candidate outside the reader: a keyed HMAC and a masked number.

A plain hash of an ID number is no protection: there are about 10^8 numbers per region, so anyone with
the hash can enumerate them.  The HMAC key is provisioned per exam by the hub (for now from a key file);
without it the HMACs cannot be reversed or linked across exams.  The key object never shows its bytes,
and error messages name the file, never its contents.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from pathlib import Path
from typing import Any, Final, NoReturn

from agent.drivers.idcard.errors import ProvisioningError

MIN_KEY_BYTES: Final = 16
HMAC_HEX = re.compile(r"^[0-9a-f]{64}$")


def mask(number: str) -> str:
    """The first 2 and last 4 characters, the rest starred: ``37************123X``."""
    if len(number) <= 6:
        return "*" * len(number)
    return number[:2] + "*" * (len(number) - 6) + number[-4:]


class CandidateKey:
    """The per-exam HMAC key.  Compare :meth:`digest` outputs, never the key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"a candidate key must be at least {MIN_KEY_BYTES} bytes")
        self._key = bytes(key)

    def digest(self, number: str) -> str:
        """HMAC-SHA256 of the upper-cased number (UTF-8), as 64 lower-case hex digits."""
        # UTF-8, not ASCII: a garbled number must not raise an error whose message quotes it.
        return hmac.new(self._key, number.upper().encode("utf-8"), hashlib.sha256).hexdigest()

    def __repr__(self) -> str:
        return "CandidateKey(<withheld>)"

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a CandidateKey cannot be pickled or copied")


def load_key(path: Path) -> CandidateKey:
    """The key file's bytes (one trailing newline ignored), at least 16 of them."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProvisioningError(f"candidate key file {path}: cannot read: {exc.strerror or exc}") from exc
    raw = raw.removesuffix(b"\n").removesuffix(b"\r")
    if len(raw) < MIN_KEY_BYTES:
        raise ProvisioningError(
            f"candidate key file {path}: holds {len(raw)} bytes, at least {MIN_KEY_BYTES} are needed"
        )
    return CandidateKey(raw)


def load_roster(path: Path) -> frozenset[str]:
    """A room's roster: one candidate HMAC (64 hex digits) a line; blank lines and ``#`` comments ignored."""
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not an ASCII text file"
        raise ProvisioningError(f"roster file {path}: cannot read: {reason}") from exc
    entries: set[str] = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        entry = line.split("#", 1)[0].strip().lower()
        if not entry:
            continue
        if not HMAC_HEX.fullmatch(entry):
            raise ProvisioningError(f"roster file {path}: line {lineno}: not a candidate HMAC (64 hex digits)")
        entries.add(entry)
    return frozenset(entries)
