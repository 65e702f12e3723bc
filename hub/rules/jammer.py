"""A room's jammer verdict: required (calendar) × declared (jammer driver) × measured (cellular probe).

:func:`room_findings` says what is wrong in a room at one instant; :func:`track` adds hysteresis: a
finding becomes an alert only after it has held for ``raise_after`` and the alert clears only after it
has been absent for ``clear_after``, so a probe flickering at a room's edge does not page the duty desk.

Findings while a paper is being sat (required "on") — all critical:
    jammer.missing          the room has no jammer at all
    jammer.silent           the jammer's state is stale, offline, or its driver cannot read it
    jammer.fault            the jammer reports a fault (fault bits, over-temperature, …)
    jammer.band_off         a band is declared off (or unreadable): one finding per band
    jammer.not_suppressing  every band declared on, but the probe in the room has signal
                            ("jammer reports on but phones have signal")
    jammer.unverified       (warning) declared on, but no probe in the room gives a verdict
Outside any session and its grace minutes (required "off"):
    jammer.on_outside_session  (warning) a band declared on: it disturbs police and other radio (rule R4)

The wire format read here is what the agent's jammer and probe drivers report in ``DeviceState.details``:
``band_<name>`` = "on" | "off" | "unknown", ``fault`` (bool), ``faults`` (comma-separated names); the probe's
``verdict`` = "suppressed" | "not_suppressed" | "unknown" and ``reason``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from hub.calendar import ANY_ROOM, Calendar, RequiredState, required_state
from hub.rules import hysteresis
from protocol.messages import DeviceKind, DeviceStatus, Scalar, Severity

BandState = Literal["on", "off", "unknown"]
Measured = Literal["suppressed", "not_suppressed", "unknown"]
BAND_PREFIX = "band_"


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    """One device's latest state as the hub holds it; ``seen_at`` is the hub's time of that state."""

    kind: DeviceKind
    id: str
    room: str | None
    status: DeviceStatus
    details: Mapping[str, Scalar]
    seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class JammerPolicy:
    # A state older than this says nothing about now (the agent reports at least every state_interval_s).
    stale_after: timedelta = timedelta(seconds=30)
    warn_unverified: bool = True


@dataclass(frozen=True, slots=True)
class Finding:
    fingerprint: str
    kind: str
    severity: Severity
    site: str
    room: str
    device_id: str | None
    summary: str
    details: Mapping[str, Scalar] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Declared:
    """What one jammer says about itself; ``reachable`` is False when its state says nothing about now."""

    device_id: str
    reachable: bool
    bands: Mapping[str, BandState]
    faults: tuple[str, ...]
    error: str | None

    @property
    def all_on(self) -> bool:
        return self.reachable and not self.faults and bool(self.bands) and all(s == "on" for s in self.bands.values())

    @property
    def bands_on(self) -> tuple[str, ...]:
        return tuple(b for b, s in self.bands.items() if s == "on")


def declared(seen: DeviceSeen, now: datetime, policy: JammerPolicy = JammerPolicy()) -> Declared:
    fresh = seen.seen_at is not None and now - seen.seen_at <= policy.stale_after
    bands: dict[str, BandState] = {}
    for key, value in seen.details.items():
        if key.startswith(BAND_PREFIX):
            bands[key.removeprefix(BAND_PREFIX)] = "on" if value == "on" else "off" if value == "off" else "unknown"
    faults: tuple[str, ...] = ()
    if seen.details.get("fault") is True:
        named = seen.details.get("faults")
        faults = tuple(n for n in named.split(",") if n) if isinstance(named, str) and named else ("fault",)
    error = seen.details.get("error")
    reachable = fresh and seen.status not in ("offline", "unknown") and bool(bands)
    why: str | None = None
    if not fresh:
        why = "no state yet" if seen.seen_at is None else f"no state since {seen.seen_at.isoformat()}"
    elif not reachable:
        why = error if isinstance(error, str) else f"status {seen.status}"
    return Declared(seen.id, reachable, bands, faults, why)


def measured(probes: Iterable[DeviceSeen], now: datetime, policy: JammerPolicy = JammerPolicy()) -> Measured:
    """The room's measured suppression: any probe with signal wins (one phone with signal is enough)."""
    verdicts = set()
    for probe in probes:
        fresh = probe.seen_at is not None and now - probe.seen_at <= policy.stale_after
        verdict = probe.details.get("verdict")
        if fresh and probe.status not in ("offline", "unknown") and verdict in ("suppressed", "not_suppressed"):
            verdicts.add(verdict)
    if "not_suppressed" in verdicts:
        return "not_suppressed"
    return "suppressed" if verdicts else "unknown"


def room_findings(
    site: str,
    room: str,
    required: RequiredState,
    devices: Iterable[DeviceSeen],
    now: datetime,
    *,
    policy: JammerPolicy = JammerPolicy(),
) -> tuple[Finding, ...]:
    """What is wrong with ``room``'s jammers at ``now`` given what the calendar requires; no hysteresis."""
    here = [d for d in devices if d.room == room]
    jammers = [declared(d, now, policy) for d in here if d.kind == "jammer"]
    probes = [d for d in here if d.kind == "probe"]
    if required.jammer == "on":
        session = required.session.id if required.session else "?"
        return tuple(_in_session(_Room(site, room), session, jammers, measured(probes, now, policy), policy))
    if required.jammer == "off":
        return tuple(_outside(_Room(site, room), jammers))
    return ()


@dataclass(frozen=True, slots=True)
class _Room:
    site: str
    room: str

    def finding(
        self,
        kind: str,
        severity: Severity,
        summary: str,
        details: Mapping[str, Scalar],
        *,
        device_id: str | None = None,
        band: str | None = None,
    ) -> Finding:
        fingerprint = ":".join([kind, self.site, self.room, device_id or "", band or ""]).rstrip(":")
        return Finding(fingerprint, kind, severity, self.site, self.room, device_id, summary, dict(details))

    def __str__(self) -> str:
        return f"room {self.room} at {self.site}"


def site_findings(
    calendar: Calendar,
    site: str,
    devices: Iterable[DeviceSeen],
    now: datetime,
    *,
    rooms: Iterable[str] = (),
    policy: JammerPolicy = JammerPolicy(),
) -> tuple[Finding, ...]:
    """Every jammer finding at ``site`` (``<city>/<site>``) at ``now``; ``devices`` are that site's devices.

    Evaluated rooms: those with a jammer or probe, those a session names, and ``rooms`` (the site's known
    rooms, which a session's ``*`` takes in: pass them, or a room without devices is never missed).
    """
    seen = list(devices)
    named = {r.room for s in calendar.sessions_at(site) for r in s.rooms if r.site == site}
    evaluated = (set(rooms) | named | {d.room for d in seen if d.kind in ("jammer", "probe") and d.room}) - {ANY_ROOM}
    found: list[Finding] = []
    for room in sorted(r for r in evaluated if r is not None):
        found += room_findings(site, room, required_state(calendar, site, room, now), seen, now, policy=policy)
    return tuple(found)


def _in_session(
    where: _Room, session: str, jammers: list[Declared], seen: Measured, policy: JammerPolicy
) -> Iterable[Finding]:
    common: dict[str, Scalar] = {"session": session, "measured": seen}
    if not jammers:
        yield where.finding("jammer.missing", "critical", f"No jammer in {where} during session {session}", common)
        return
    for jam in jammers:
        dev = jam.device_id
        if not jam.reachable:
            summary = f"Jammer {dev} in {where} is not reporting during session {session}: {jam.error}"
            yield where.finding("jammer.silent", "critical", summary, common, device_id=dev)
            continue
        if jam.faults:
            named = ", ".join(jam.faults)
            summary = f"Jammer {dev} in {where} reports a fault during session {session}: {named}"
            yield where.finding("jammer.fault", "critical", summary, {**common, "faults": named}, device_id=dev)
        for band, state in jam.bands.items():
            if state != "on":
                summary = f"Jammer {dev} in {where}: band {band} is {state} during session {session}"
                extra = {**common, "band": band, "band_state": state}
                yield where.finding("jammer.band_off", "critical", summary, extra, device_id=dev, band=band)
    if all(j.all_on for j in jammers):
        if seen == "not_suppressed":
            summary = f"Jammer reports on but phones have signal in {where} (session {session})"
            yield where.finding("jammer.not_suppressing", "critical", summary, common)
        elif seen == "unknown" and policy.warn_unverified:
            summary = f"Jammer in {where} reports on, but no probe confirms suppression (session {session})"
            yield where.finding("jammer.unverified", "warning", summary, common)


def _outside(where: _Room, jammers: list[Declared]) -> Iterable[Finding]:
    for jam in jammers:
        on = jam.bands_on if jam.reachable else ()
        if on:
            bands = ", ".join(on)
            summary = f"Jammer {jam.device_id} in {where} is on outside any session (bands {bands})"
            yield where.finding(
                "jammer.on_outside_session", "warning", summary, {"bands": bands}, device_id=jam.device_id
            )


# --- hysteresis ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HysteresisPolicy:
    raise_after: Mapping[Severity, timedelta] = field(
        default_factory=lambda: {"critical": timedelta(seconds=10), "warning": timedelta(seconds=60)}
    )
    clear_after: timedelta = timedelta(seconds=30)

    def delay(self, severity: Severity) -> timedelta:
        return self.raise_after.get(severity, timedelta(0))


# The shared tracker's state; a jammer or reader finding's decisions keep their own names (Raised,
# Cleared), which callers match on.
Tracked = hysteresis.Tracked


@dataclass(frozen=True, slots=True)
class Raised:
    finding: Finding
    at: datetime


@dataclass(frozen=True, slots=True)
class Cleared:
    finding: Finding
    at: datetime


Change = Raised | Cleared
TrackState = Mapping[str, Tracked[Finding]]


def resumed(open_alerts: Iterable[tuple[Finding, datetime]], now: datetime) -> dict[str, Tracked[Finding]]:
    """The hysteresis state for alerts still open from before a restart (finding, opened at), so that they
    clear by the usual rule if their condition is gone, instead of staying open forever."""
    return hysteresis.resumed(open_alerts, now)


def track(
    state: TrackState, findings: Iterable[Finding], now: datetime, policy: HysteresisPolicy = HysteresisPolicy()
) -> tuple[dict[str, Tracked[Finding]], list[Change]]:
    """Advance the hysteresis by one evaluation (:func:`hub.rules.hysteresis.track`, delayed by severity).

    ``findings`` must be everything the evaluation found over the scope ``state`` covers (e.g. one site's
    rooms): a tracked finding missing from it counts as absent.  A pending finding that goes absent is
    forgotten at once (it never held long enough); a raised one clears after ``clear_after`` of absence.
    Returns the new state (store it for the next call) and the alerts to open and to close.
    """
    out, decisions = hysteresis.track(
        state, findings, now, delay=lambda f: policy.delay(f.severity), clear_after=policy.clear_after
    )
    changes: list[Change] = [
        Raised(d.finding, d.at) if isinstance(d, hysteresis.Raise) else Cleared(d.finding, d.at) for d in decisions
    ]
    return out, changes
