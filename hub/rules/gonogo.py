"""Go / no-go for a site before a session: is everything the duty desk relies on in place?

A site is green when every check passes:

    link           every agent of the site is online and heard from recently
    clock          every agent's clock is within ``max_clock_offset_s`` of the hub's
    outbox         every agent has delivered everything (nothing queued for the hub)
    calendar       every agent holds the plan in force (the version its heartbeat reports), so it knows
                   what is required of its rooms even if the link drops during the session
    vault_cameras  the vault has its cameras, each healthy and with a tamper baseline
    jammers        every room taking part has a jammer, reporting, no fault, every band readable ("armed")
    probes         every room taking part has a cellular probe giving a verdict ("verified": it can tell
                   suppressed from not; before the sitting the jammer is off, so "not_suppressed" is expected)
    readers        every room taking part has an ID-card reader present and not faulty

:func:`evaluate` is pure over a :class:`SiteSnapshot`; :func:`due` says which checks fall in a time span,
for a caller that runs them ``lead`` before each session.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hub.calendar import Calendar, Session
from hub.rules.jammer import DeviceSeen, JammerPolicy, declared
from protocol.messages import DeviceKind, Scalar

DEFAULT_LEAD = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class AgentSeen:
    agent_id: str
    online: bool
    # Agent clock minus hub clock, from the last heartbeat (its ``ts`` against the hub's receive time).
    clock_offset_s: float | None
    # From the last heartbeat: messages the agent still holds for the hub.
    outbox_depth: int | None
    last_seen: datetime | None
    # From the last heartbeat: the version of the exam plan the agent holds, "none" when it holds none;
    # None when the agent's software predates calendars (not judged).
    calendar_version: str | None = None


@dataclass(frozen=True, slots=True)
class SiteSnapshot:
    site: str
    # The rooms taking part in the session checked (a calendar's "*" already expanded).
    rooms: frozenset[str]
    agents: tuple[AgentSeen, ...]
    devices: tuple[DeviceSeen, ...]
    session: str | None = None
    # The version of the plan in force; None skips the calendar check (no plan imported, or not known).
    calendar_version: str | None = None


def default_baselined(details: Mapping[str, Scalar]) -> bool:
    """Whether a camera's reported details say it has a tamper baseline (reference frame) set."""
    return details.get("baseline") in ("ok", True)


@dataclass(frozen=True, slots=True)
class GoNoGoPolicy:
    max_clock_offset_s: float = 1.0
    max_outbox_depth: int = 0
    stale_after: timedelta = timedelta(seconds=30)
    require_probe: bool = True
    # Rooms whose cameras watch the vault; None: every camera of the site does.
    vault_rooms: frozenset[str] | None = None
    min_vault_cameras: int = 1
    baselined: Callable[[Mapping[str, Scalar]], bool] = field(default=default_baselined)


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class GoNoGo:
    site: str
    session: str | None
    at: datetime
    checks: tuple[Check, ...]

    @property
    def green(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(r for c in self.checks for r in c.reasons)


def evaluate(snapshot: SiteSnapshot, now: datetime, policy: GoNoGoPolicy = GoNoGoPolicy()) -> GoNoGo:
    s, p = snapshot, policy
    checks = (
        _check("link", _link(s, now, p)),
        _check("clock", _clock(s, p)),
        _check("outbox", _outbox(s, p)),
        _check("calendar", _calendar(s)),
        _check("vault_cameras", _cameras(s, now, p)),
        _check("jammers", _jammers(s, now, p)),
        _check("probes", _probes(s, now, p) if p.require_probe else []),
        _check("readers", _readers(s, now, p)),
    )
    return GoNoGo(s.site, s.session, now, checks)


def due(
    calendar: Calendar, since: datetime, until: datetime, lead: timedelta = DEFAULT_LEAD
) -> list[tuple[str, Session]]:
    """The (site, session) pairs whose check time (``start - lead``) falls in ``(since, until]``."""
    return [
        (site, session)
        for session in calendar.sessions
        if since < session.start - lead <= until
        for site in sorted(session.sites)
    ]


def _check(name: str, reasons: Iterable[str]) -> Check:
    found = tuple(reasons)
    return Check(name, not found, found)


def _fresh(seen_at: datetime | None, now: datetime, policy: GoNoGoPolicy) -> bool:
    return seen_at is not None and now - seen_at <= policy.stale_after


def _link(s: SiteSnapshot, now: datetime, p: GoNoGoPolicy) -> Iterable[str]:
    if not s.agents:
        yield f"no agent has reported for site {s.site}"
    for agent in s.agents:
        if not agent.online:
            since = f" since {agent.last_seen.isoformat()}" if agent.last_seen else ""
            yield f"agent {agent.agent_id} is offline{since}"
        elif not _fresh(agent.last_seen, now, p):
            yield f"agent {agent.agent_id} has not been heard from recently"


def _clock(s: SiteSnapshot, p: GoNoGoPolicy) -> Iterable[str]:
    for agent in s.agents:
        if agent.clock_offset_s is None:
            yield f"agent {agent.agent_id}: clock offset unknown (no heartbeat yet)"
        elif abs(agent.clock_offset_s) > p.max_clock_offset_s:
            yield f"agent {agent.agent_id}: clock is {agent.clock_offset_s:+.1f} s off the hub's"


def _outbox(s: SiteSnapshot, p: GoNoGoPolicy) -> Iterable[str]:
    for agent in s.agents:
        if agent.outbox_depth is None:
            yield f"agent {agent.agent_id}: outbox depth unknown (no heartbeat yet)"
        elif agent.outbox_depth > p.max_outbox_depth:
            yield f"agent {agent.agent_id}: {agent.outbox_depth} messages not yet delivered to the hub"


def _calendar(s: SiteSnapshot) -> Iterable[str]:
    if not s.calendar_version:
        return
    for agent in s.agents:
        held = agent.calendar_version
        if held is not None and held != s.calendar_version:
            yield f"agent {agent.agent_id} does not hold the current calendar ({held}; current {s.calendar_version})"


def _of(s: SiteSnapshot, kind: DeviceKind, room: str | None = None) -> list[DeviceSeen]:
    return [d for d in s.devices if d.kind == kind and (room is None or d.room == room)]


def _health(d: DeviceSeen, now: datetime, p: GoNoGoPolicy) -> str | None:
    """Why ``d`` cannot be counted on, or None."""
    if not _fresh(d.seen_at, now, p):
        return "not reporting"
    if d.status in ("fault", "offline", "unknown"):
        error = d.details.get("error")
        return f"{d.status}: {error}" if isinstance(error, str) else d.status
    return None


def _cameras(s: SiteSnapshot, now: datetime, p: GoNoGoPolicy) -> Iterable[str]:
    cameras = [c for c in _of(s, "camera") if p.vault_rooms is None or c.room in p.vault_rooms]
    if len(cameras) < p.min_vault_cameras:
        yield f"{len(cameras)} vault camera(s), {p.min_vault_cameras} needed"
    for cam in cameras:
        problem = _health(cam, now, p)
        if problem is None and cam.status != "ok":
            problem = f"{cam.status} (tamper: {cam.details.get('tamper', '?')})"
        if problem is not None:
            yield f"vault camera {cam.id}: {problem}"
        elif not p.baselined(cam.details):
            yield f"vault camera {cam.id}: no tamper baseline"


def _jammers(s: SiteSnapshot, now: datetime, p: GoNoGoPolicy) -> Iterable[str]:
    for room in sorted(s.rooms):
        jammers = _of(s, "jammer", room)
        if not jammers:
            yield f"room {room}: no jammer"
        for jam in jammers:
            problem = _health(jam, now, p)
            state = declared(jam, now, JammerPolicy(stale_after=p.stale_after))
            if problem is None and state.faults:
                problem = f"fault ({', '.join(state.faults)})"
            if problem is None and not state.reachable:
                problem = state.error or "no band states"
            unread = [b for b, v in state.bands.items() if v == "unknown"]
            if problem is None and unread:
                problem = f"band(s) {', '.join(unread)} unreadable"
            if problem is not None:
                yield f"room {room}: jammer {jam.id} {problem}"


def _probes(s: SiteSnapshot, now: datetime, p: GoNoGoPolicy) -> Iterable[str]:
    for room in sorted(s.rooms):
        probes = _of(s, "probe", room)
        if not probes:
            yield f"room {room}: no cellular probe to verify the jammer"
        for probe in probes:
            problem = _health(probe, now, p)
            if problem is None and probe.details.get("verdict") not in ("suppressed", "not_suppressed"):
                problem = f"gives no verdict ({probe.details.get('reason', 'unknown')})"
            if problem is not None:
                yield f"room {room}: probe {probe.id} {problem}"


def _readers(s: SiteSnapshot, now: datetime, p: GoNoGoPolicy) -> Iterable[str]:
    for room in sorted(s.rooms):
        readers = _of(s, "idcard", room)
        if not readers:
            yield f"room {room}: no ID-card reader"
        for reader in readers:
            problem = _health(reader, now, p)
            if problem is not None:
                yield f"room {room}: reader {reader.id} {problem}"
