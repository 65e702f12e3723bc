"""SW3, the status byte of every reply, as typed values with the words the manuals use."""

from __future__ import annotations

from enum import IntEnum


class Sw3(IntEnum):
    OK = 0x90
    CARD_FOUND = 0x9F
    CHECKSUM_ERROR = 0x10
    LENGTH_ERROR = 0x11
    COMMAND_ERROR = 0x21
    UNAUTHORISED = 0x23
    UNRECOGNISED = 0x24
    AUTH_FAILED = 0x31
    AUTH_FAILED_2 = 0x32
    INFO_CHECK_ERROR = 0x33
    UNKNOWN_CARD = 0x40
    READ_FAILED = 0x41
    RANDOM_FAILED = 0x47
    SAM_SELF_TEST_FAILED = 0x60
    SAM_NOT_AUTHORISED = 0x66
    NO_CARD = 0x80
    SELECT_FAILED = 0x81


DESCRIPTIONS: dict[int, str] = {
    Sw3.OK: "OK",
    Sw3.CARD_FOUND: "card found",
    Sw3.CHECKSUM_ERROR: "reader saw a checksum error",
    Sw3.LENGTH_ERROR: "reader saw a length error",
    Sw3.COMMAND_ERROR: "command error",
    Sw3.UNAUTHORISED: "unauthorised",
    Sw3.UNRECOGNISED: "unrecognised command",
    Sw3.AUTH_FAILED: "card authentication failed",
    Sw3.AUTH_FAILED_2: "card authentication failed",
    Sw3.INFO_CHECK_ERROR: "information check error",
    Sw3.UNKNOWN_CARD: "unknown card",
    Sw3.READ_FAILED: "read failed",
    Sw3.RANDOM_FAILED: "random number failed",
    Sw3.SAM_SELF_TEST_FAILED: "SAM self-test failed",
    Sw3.SAM_NOT_AUTHORISED: "SAM not authorised",
    Sw3.NO_CARD: "no card",
    Sw3.SELECT_FAILED: "select failed",
}

# The SAM itself is broken: no card can be read until it is fixed, whatever the command.
SAM_FAULTS = frozenset({Sw3.SAM_SELF_TEST_FAILED, Sw3.SAM_NOT_AUTHORISED})


def code(sw3: int) -> str:
    """How a code is written in states and events: two lower-case hex digits, as in the manuals."""
    return f"{sw3:02x}"


def describe(sw3: int) -> str:
    return f"{DESCRIPTIONS.get(sw3, 'unknown status')} (SW3 {code(sw3)})"
