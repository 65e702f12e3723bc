"""ID-card reader rules (rule R2): is each room's reader there and working, and is anyone checked in twice?

:func:`reader_findings` — per room, from the reader states the agents report (driver ``idcard-sam``:
status "offline" with ``details.state == "absent"`` when unplugged or silent, "fault" when its SAM fails):

    idcard.reader_missing   a reader is absent, or its state is stale; or the room has none at all while
                            readers are required.  Critical while readers are required (check-in opening to
                            the end of the sitting), warning otherwise (nobody is being checked in yet).
    idcard.reader_fault     the reader answers but cannot read cards (SAM self-test failed, not answering
                            after having answered, …).  Same severities.

:func:`duplicate_checkin` — the same candidate (same keyed HMAC; the key is per exam, so it is the same at
every site) checked in at two different places (site + room) during one session: possible impersonation,
critical.  Only the masked number appears in the summary; the HMAC is kept in the details for the record.

The fingerprint of a reader finding does not include its severity: when a check-in window opens, the
finding of an absent reader becomes critical under the same fingerprint.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.calendar import RequiredState, Session
from hub.rules.jammer import DeviceSeen, Finding
from protocol.messages import Scalar, Severity

MISSING = "idcard.reader_missing"
FAULT = "idcard.reader_fault"
DUPLICATE = "idcard.duplicate_checkin"
CHECKIN_EVENT = "idcard.checkin"
STALE_AFTER = timedelta(seconds=30)


def reader_findings(
    site: str,
    room: str,
    required: RequiredState,
    devices: Iterable[DeviceSeen],
    now: datetime,
    *,
    stale_after: timedelta = STALE_AFTER,
) -> tuple[Finding, ...]:
    """What is wrong with ``room``'s ID-card readers at ``now``; ``site`` is ``<city>/<site>``."""
    severity: Severity = "critical" if required.readers else "warning"
    window = _window(required)
    readers = [d for d in devices if d.kind == "idcard" and d.room == room]
    if not readers:
        if not required.readers:
            return ()
        summary = f"No ID-card reader in room {room} at {site}{window}"
        none: dict[str, Scalar] = {"reason": "none configured"}
        return (_finding(MISSING, severity, site=site, room=room, device_id=None, summary=summary, details=none),)
    out: list[Finding] = []
    for reader in readers:
        problem = _problem(reader, now, stale_after)
        if problem is None:
            continue
        kind, reason = problem
        what = "missing" if kind == MISSING else "faulty"
        summary = f"ID-card reader {reader.id} in room {room} at {site} is {what}: {reason}{window}"
        details: dict[str, Scalar] = {"reason": reason, "sam_id": _text(reader.details.get("sam_id"))}
        out.append(
            _finding(kind, severity, site=site, room=room, device_id=reader.id, summary=summary, details=details)
        )
    return tuple(out)


def _problem(reader: DeviceSeen, now: datetime, stale_after: timedelta) -> tuple[str, str] | None:
    error = _text(reader.details.get("error"))
    if reader.seen_at is None or now - reader.seen_at > stale_after:
        since = "no state yet" if reader.seen_at is None else f"no state since {reader.seen_at.isoformat()}"
        return MISSING, since
    state = reader.details.get("state")
    if reader.status == "offline" or state == "absent":
        return MISSING, error or "not connected"
    if reader.status == "fault" or state == "fault":
        return FAULT, error or "fault"
    return None


def _window(required: RequiredState) -> str:
    if not required.readers:
        return ""
    session = required.session.id if required.session is not None else "?"
    return f" during check-in / session {session}"


def _finding(
    kind: str,
    severity: Severity,
    *,
    site: str,
    room: str,
    device_id: str | None,
    summary: str,
    details: Mapping[str, Scalar],
) -> Finding:
    fingerprint = ":".join([kind, site, room, device_id or ""]).rstrip(":")
    return Finding(fingerprint, kind, severity, site, room, device_id, summary, dict(details))


def _text(value: Scalar) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(frozen=True, slots=True)
class CheckIn:
    """One successful card read, as the hub stores it: no personal data, only the HMAC and masked number."""

    site: str
    room: str | None
    device_id: str | None
    candidate: str
    masked: str | None
    at: datetime

    @property
    def place(self) -> tuple[str, str | None]:
        return self.site, self.room


def checkin_from_event(
    site: str, device_id: str | None, name: str, details: Mapping[str, Scalar], at: datetime
) -> CheckIn | None:
    """A check-in from an agent's event, or None if it is not a successful read with a candidate HMAC."""
    candidate = details.get("candidate")
    if name != CHECKIN_EVENT or details.get("result") != "ok" or not isinstance(candidate, str) or not candidate:
        return None
    room = details.get("room")
    return CheckIn(
        site=site,
        room=room if isinstance(room, str) else None,
        device_id=device_id,
        candidate=candidate,
        masked=_text(details.get("masked")),
        at=at,
    )


def duplicate_checkin(new: CheckIn, earlier: Iterable[CheckIn], session: Session | None) -> Finding | None:
    """A finding if ``new``'s candidate already checked in at another place during ``session``'s check-in
    and sitting; ``earlier`` may hold anything (other candidates, other sessions): it is filtered here."""
    if session is None or not session.checkin_start <= new.at < session.end:
        return None
    elsewhere = sorted(
        (
            c
            for c in earlier
            if c.candidate == new.candidate and c.place != new.place and session.checkin_start <= c.at < session.end
        ),
        key=lambda c: c.at,
    )
    if not elsewhere:
        return None
    places = [*dict.fromkeys(_where(c) for c in [*elsewhere, new])]
    who = new.masked or "a candidate"
    summary = f"Candidate {who} checked in at {len(places)} places during session {session.id}: " + "; ".join(places)
    details: dict[str, Scalar] = {
        "session": session.id,
        "candidate": new.candidate,
        "masked": new.masked,
        "places": "; ".join(places),
        "first_at": elsewhere[0].at.isoformat(),
        "latest_at": new.at.isoformat(),
    }
    fingerprint = f"{DUPLICATE}:{session.id}:{new.candidate}"
    return Finding(fingerprint, DUPLICATE, "critical", new.site, new.room or "", new.device_id, summary, details)


def _where(c: CheckIn) -> str:
    return f"{c.site} room {c.room or '?'}"
