"""AT commands (3GPP TS 27.007) without I/O: bytes in, replies and observations out.

:class:`ATSession` is told which command was sent (:meth:`ATSession.request` returns the bytes to write)
and is fed whatever the modem sends.  It returns :class:`Reply` when a final result code ends the
command (``OK``, ``ERROR``, ``+CME ERROR: …``) and :class:`Unsolicited` for every line that belongs to no
command: URCs such as ``+CEREG: 2`` or ``RING`` may arrive at any time, even between a reply's lines.
The echo of the command (a modem left in ``ATE1``) is dropped.

The decoders turn one information line into an observation, or None for a line they do not know.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

MAX_LINE: Final = 1024
FINAL_OK: Final = "OK"
_FINAL_ERRORS: Final = ("ERROR", "+CME ERROR:", "+CMS ERROR:", "NO CARRIER")
_PREFIX = re.compile(r"^AT(\+[A-Z0-9]+)", re.IGNORECASE)
# Registration states (27.007 +CREG/+CEREG/+C5GREG <stat>): 1 home, 5 roaming, 6/7 SMS only, 8 emergency only,
# 9/10 CSFB not preferred.  Every one of them means a phone here hears a cell.
SERVICE_STATES: Final = frozenset({1, 5, 6, 7, 8, 9, 10})
UNKNOWN_CESQ: Final = 255
UNKNOWN_CSQ: Final = 99


class ATProtocolError(Exception):
    """The session was used wrongly (a second command before the first was answered)."""


@dataclass(frozen=True, slots=True)
class Reply:
    command: str
    lines: tuple[str, ...]
    result: str

    @property
    def ok(self) -> bool:
        return self.result == FINAL_OK


@dataclass(frozen=True, slots=True)
class Unsolicited:
    line: str


ATEvent = Reply | Unsolicited


class ATSession:
    def __init__(self) -> None:
        self._buffer = bytearray()
        self._pending: str | None = None
        self._prefix: str | None = None
        self._lines: list[str] = []
        self.discarded = 0

    @property
    def pending(self) -> str | None:
        return self._pending

    def request(self, command: str) -> bytes:
        """Start ``command`` (e.g. ``AT+CESQ``); write the returned bytes to the modem."""
        if self._pending is not None:
            raise ATProtocolError(f"{command!r} sent while {self._pending!r} is unanswered")
        self._pending = command
        match = _PREFIX.match(command)
        self._prefix = f"{match[1].upper()}:" if match else None
        self._lines = []
        return f"{command}\r".encode("ascii")

    def abandon(self) -> None:
        """Give up on the pending command (no reply in time); a late answer will be discarded."""
        self._pending = None
        self._prefix = None
        self._lines = []

    def feed(self, data: bytes) -> list[ATEvent]:
        self._buffer += data
        events: list[ATEvent] = []
        while True:
            end = next((i for i, b in enumerate(self._buffer) if b in b"\r\n"), -1)
            if end < 0:
                if len(self._buffer) > MAX_LINE:
                    # Line noise or a baud-rate mismatch: nothing in it is worth keeping.
                    self._buffer.clear()
                    self.discarded += 1
                break
            raw = bytes(self._buffer[:end])
            del self._buffer[: end + 1]
            line = raw.decode("ascii", errors="replace").strip()
            if line:
                event = self._line(line)
                if event is not None:
                    events.append(event)
        return events

    def _line(self, line: str) -> ATEvent | None:
        if self._pending is None:
            if line == FINAL_OK or line.startswith(_FINAL_ERRORS):
                self.discarded += 1  # the late end of an abandoned command
                return None
            return Unsolicited(line)
        if line.upper() == self._pending.upper():
            return None  # echo
        if line == FINAL_OK or line.startswith(_FINAL_ERRORS):
            reply = Reply(self._pending, tuple(self._lines), line)
            self.abandon()
            return reply
        if self._prefix is not None and line.upper().startswith(self._prefix):
            self._lines.append(line)
            return None
        return Unsolicited(line)


# --- observations ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Registration:
    """+CEREG (EPS, LTE) or +C5GREG (5GS, NR), from a read command's reply or from an unsolicited line."""

    rat: Literal["eps", "5gs"]
    stat: int
    solicited: bool

    @property
    def registered(self) -> bool:
        return self.stat in SERVICE_STATES


@dataclass(frozen=True, slots=True)
class Operator:
    """+COPS: the network the modem is on; ``name`` None means none (not registered)."""

    name: str | None
    act: int | None

    @property
    def registered(self) -> bool:
        return self.name is not None


@dataclass(frozen=True, slots=True)
class SignalQuality:
    """+CESQ; None where the modem reports "unknown / not detectable" (255)."""

    rsrq_db: float | None
    rsrp_dbm: float | None
    ss_rsrq_db: float | None = None
    ss_rsrp_dbm: float | None = None

    @property
    def best_rsrp_dbm(self) -> float | None:
        values = [v for v in (self.rsrp_dbm, self.ss_rsrp_dbm) if v is not None]
        return max(values, default=None)

    @property
    def best_rsrq_db(self) -> float | None:
        values = [v for v in (self.rsrq_db, self.ss_rsrq_db) if v is not None]
        return max(values, default=None)


@dataclass(frozen=True, slots=True)
class Csq:
    """+CSQ: received signal strength only (99 = unknown).  Never enough on its own to judge service."""

    rssi_dbm: float | None


Observation = Registration | Operator | SignalQuality | Csq


def fields(payload: str) -> list[str]:
    """Split a reply's parameters on commas, keeping quoted strings (with their quotes) whole."""
    out: list[str] = []
    current: list[str] = []
    quoted = False
    for ch in payload:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            out.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    out.append("".join(current).strip())
    return out


def decode(line: str) -> Observation | None:
    head, sep, payload = line.partition(":")
    if not sep:
        return None
    parts = fields(payload)
    try:
        match head.strip().upper():
            case "+CEREG":
                return _registration("eps", parts)
            case "+C5GREG":
                return _registration("5gs", parts)
            case "+COPS":
                return _operator(parts)
            case "+CESQ":
                return _cesq(parts)
            case "+CSQ":
                rssi = int(parts[0])
                return Csq(None if rssi == UNKNOWN_CSQ else -113.0 + 2 * rssi)
    except (ValueError, IndexError):
        return None
    return None


def _registration(rat: Literal["eps", "5gs"], parts: list[str]) -> Registration:
    # Read reply: "<n>,<stat>[,<tac>,…]"; unsolicited: "<stat>[,<tac>,…]" where <tac> is a quoted string.
    # So a second field that is a bare number makes it a reply.
    if len(parts) >= 2 and parts[1].isdigit():
        return Registration(rat, int(parts[1]), solicited=True)
    return Registration(rat, int(parts[0]), solicited=False)


def _operator(parts: list[str]) -> Operator:
    # "<mode>[,<format>,<oper>[,<AcT>]]": without <oper> there is no network.
    if len(parts) < 3 or not parts[2].strip('"'):
        int(parts[0])
        return Operator(None, None)
    act = int(parts[3]) if len(parts) > 3 and parts[3] else None
    return Operator(parts[2].strip('"'), act)


def _cesq(parts: list[str]) -> SignalQuality:
    # <rxlev>,<ber>,<rscp>,<ecno>,<rsrq>,<rsrp>[,<ss_rsrq>,<ss_rsrp>,<ss_sinr>]
    rsrq, rsrp = int(parts[4]), int(parts[5])
    ss_rsrq = int(parts[6]) if len(parts) > 6 else UNKNOWN_CESQ
    ss_rsrp = int(parts[7]) if len(parts) > 7 else UNKNOWN_CESQ
    return SignalQuality(
        rsrq_db=None if rsrq == UNKNOWN_CESQ else -20.0 + rsrq / 2,
        rsrp_dbm=None if rsrp == UNKNOWN_CESQ else -140.0 + rsrp,
        ss_rsrq_db=None if ss_rsrq == UNKNOWN_CESQ else -43.0 + ss_rsrq / 2,
        ss_rsrp_dbm=None if ss_rsrp == UNKNOWN_CESQ else -156.0 + ss_rsrp,
    )
