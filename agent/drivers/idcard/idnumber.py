"""Resident ID numbers (GB 11643): 6-digit region, 8-digit birth date, 3-digit sequence, ISO 7064 MOD 11-2 check.

Only the structure is checked; nothing here knows or looks up real regions or people.
"""

from __future__ import annotations

from datetime import date
from typing import Final

LENGTH: Final = 18
# ISO 7064 MOD 11-2: weight of position i is 2^(17-i) mod 11.
WEIGHTS: Final = tuple(pow(2, 17 - i, 11) for i in range(17))
CHECK_CHARS: Final = "10X98765432"


def check_char(first17: str) -> str:
    """The check character for the first 17 digits."""
    if len(first17) != LENGTH - 1 or not first17.isascii() or not first17.isdigit():
        raise ValueError("an ID number's body is 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, WEIGHTS, strict=True))
    return CHECK_CHARS[total % 11]


def birth_date(number: str) -> date | None:
    """The birth date the number encodes, or None if those 8 digits are not a date."""
    try:
        return date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return None


def is_valid(number: str) -> bool:
    """18 characters, 17 digits and the right check character (an ``x`` counts as ``X``), a real birth date."""
    if len(number) != LENGTH or not number.isascii():
        return False
    body, check = number[:17], number[17].upper()
    if not body.isdigit() or body[0] == "0":
        return False
    return check_char(body) == check and birth_date(number) is not None
