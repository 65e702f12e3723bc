"""The 256-byte text block of a ``30 01`` read: UTF-16LE, space-padded fields at fixed character offsets.

:func:`decode` builds a :class:`CardRecord`; :func:`encode` is its inverse, used by the simulator and the
tests.  Errors say which field is wrong and never quote it.
"""

from __future__ import annotations

from datetime import date
from typing import Final

from agent.drivers.idcard.errors import CardDataError
from agent.drivers.idcard.record import CardRecord, Validity
from agent.drivers.idcard.replies import TEXT_BYTES

# field → (offset, width) in characters
FIELDS: Final = {
    "name": (0, 15),
    "sex": (15, 1),
    "nation": (16, 2),
    "birth": (18, 8),
    "address": (26, 35),
    "number": (61, 18),
    "authority": (79, 15),
    "valid_from": (94, 8),
    "valid_to": (102, 8),
}
CHARS: Final = TEXT_BYTES // 2
LONG_TERM: Final = "长期"
PAD: Final = " \x00"


def decode(block: bytes, photo: bytes = b"") -> CardRecord:
    if len(block) < TEXT_BYTES:
        raise CardDataError(f"text block is {len(block)} bytes, expected {TEXT_BYTES}")
    try:
        text = block[:TEXT_BYTES].decode("utf-16-le")
    except UnicodeDecodeError as exc:
        raise CardDataError("text block is not valid UTF-16LE") from exc
    field = {name: text[at : at + width].strip(PAD) for name, (at, width) in FIELDS.items()}
    for required in ("name", "number"):
        if not field[required]:
            raise CardDataError(f"text block has an empty {required} field")
    valid_to = field["valid_to"]
    return CardRecord(
        name=field["name"],
        sex=field["sex"],
        nation=field["nation"],
        birth=_date(field["birth"], "birth"),
        address=field["address"],
        number=field["number"],
        authority=field["authority"],
        validity=Validity(
            start=_date(field["valid_from"], "valid_from"),
            end=None if valid_to.startswith(LONG_TERM) else _date(valid_to, "valid_to"),
        ),
        photo=photo,
    )


def encode(
    *,
    name: str,
    sex: str,
    nation: str,
    birth: date,
    address: str,
    number: str,
    authority: str,
    valid_from: date,
    valid_to: date | None,
) -> bytes:
    values = {
        "name": name,
        "sex": sex,
        "nation": nation,
        "birth": birth.strftime("%Y%m%d"),
        "address": address,
        "number": number,
        "authority": authority,
        "valid_from": valid_from.strftime("%Y%m%d"),
        "valid_to": LONG_TERM if valid_to is None else valid_to.strftime("%Y%m%d"),
    }
    chars = [" "] * CHARS
    for key, value in values.items():
        at, width = FIELDS[key]
        if len(value) > width:
            raise ValueError(f"{key} is longer than its {width} characters")
        chars[at : at + width] = list(value.ljust(width))
    return "".join(chars).encode("utf-16-le")


def _date(value: str, name: str) -> date:
    if len(value) != 8 or not value.isascii() or not value.isdigit():
        raise CardDataError(f"text block's {name} field is not an 8-digit date")
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:]))
    except ValueError as exc:
        raise CardDataError(f"text block's {name} field is not a calendar date") from exc
