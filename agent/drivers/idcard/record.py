"""The decoded contents of one card: personal data that must never leave the reader's thread.

:class:`CardRecord` is deliberately awkward to leak: it is not a dataclass or a msgspec struct (no
``asdict``, ``to_builtins`` or ``vars``), its ``repr``/``str`` show only the masked number, it refuses to be
pickled or copied, and JSON encoders reject it as an unknown type.  Code that needs a fact from it asks
for that fact (:mod:`agent.drivers.idcard.checkin`); nothing hands the record itself onwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, NoReturn

from agent.drivers.idcard.privacy import mask


@dataclass(frozen=True, slots=True)
class Validity:
    """A card's period of validity; ``end`` is None for the long-term ("长期") form."""

    start: date
    end: date | None

    @property
    def long_term(self) -> bool:
        return self.end is None

    def expired(self, on: date) -> bool:
        return self.end is not None and on > self.end

    def in_force(self, on: date) -> bool:
        return self.start <= on and not self.expired(on)


class CardRecord:
    __slots__ = ("address", "authority", "birth", "name", "nation", "number", "photo", "sex", "validity")

    name: str
    sex: str
    nation: str
    birth: date
    address: str
    number: str
    authority: str
    validity: Validity
    photo: bytes

    def __init__(
        self,
        *,
        name: str,
        sex: str,
        nation: str,
        birth: date,
        address: str,
        number: str,
        authority: str,
        validity: Validity,
        photo: bytes,
    ) -> None:
        values = {
            "name": name,
            "sex": sex,
            "nation": nation,
            "birth": birth,
            "address": address,
            "number": number,
            "authority": authority,
            "validity": validity,
            "photo": photo,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def __setattr__(self, key: str, value: object) -> NoReturn:
        raise AttributeError("CardRecord is read-only")

    def __delattr__(self, key: str) -> NoReturn:
        raise AttributeError("CardRecord is read-only")

    def __repr__(self) -> str:
        return f"CardRecord(number={mask(self.number)}, <personal data withheld>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce_ex__(self, protocol: Any) -> NoReturn:
        raise TypeError("a CardRecord holds personal data and cannot be pickled or copied")

    def __copy__(self) -> NoReturn:
        raise TypeError("a CardRecord holds personal data and cannot be copied")

    def __deepcopy__(self, memo: Any) -> NoReturn:
        raise TypeError("a CardRecord holds personal data and cannot be copied")

    def __getstate__(self) -> NoReturn:
        raise TypeError("a CardRecord holds personal data and cannot be serialised")
