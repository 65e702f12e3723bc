"""A check-in event's facts: the only place a :class:`CardRecord` is looked at, and what may leave the agent.

Out go: the room, the reader, the result and its code, whether the card is in force (expired, not yet
valid, long-term), whether the number's check character is right, the candidate's keyed HMAC and masked
number, and whether the room's roster has them.  Name, address, photo and the full number stay behind.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Final

from agent.drivers.idcard import idnumber
from agent.drivers.idcard.privacy import CandidateKey, mask
from agent.drivers.idcard.record import CardRecord
from protocol.messages import Scalar, Severity

# Card dates are Chinese calendar dates; China keeps one time zone and no daylight saving time.
CHINA: Final = timezone(timedelta(hours=8))
EVENT: Final = "idcard.checkin"


def card_day(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def read_ok(
    record: CardRecord,
    *,
    room: str | None,
    reader: str | None,
    key: CandidateKey | None,
    roster: frozenset[str] | None,
    today: date,
    read_ms: int,
) -> tuple[Severity, dict[str, Scalar]]:
    validity = record.validity
    candidate = key.digest(record.number) if key is not None else None
    registered = None if roster is None or candidate is None else candidate in roster
    number_ok = idnumber.is_valid(record.number)
    in_force = validity.in_force(today)
    details: dict[str, Scalar] = {
        "room": room,
        "reader": reader,
        "result": "ok",
        "code": "90",
        "card_valid": in_force,
        "expired": validity.expired(today),
        "long_term": validity.long_term,
        "number_ok": number_ok,
        "candidate": candidate,
        "masked": mask(record.number),
        "registered": registered,
        "read_ms": read_ms,
    }
    worrying = not in_force or not number_ok or registered is False
    return ("warning" if worrying else "info"), details


def read_failed(*, room: str | None, reader: str | None, code: str, read_ms: int) -> dict[str, Scalar]:
    return {
        "room": room,
        "reader": reader,
        "result": "failed",
        "code": code,
        "card_valid": None,
        "expired": None,
        "long_term": None,
        "number_ok": None,
        "candidate": None,
        "masked": None,
        "registered": None,
        "read_ms": read_ms,
    }
