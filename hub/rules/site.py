"""One site's rules at one instant, and their hysteresis: pure, from what the hub holds about the site.

:func:`evaluate_site` runs the room rules (jammer verdict, ID-card readers) and the vault rules over a
:class:`SiteView`; :func:`advance_site` feeds the findings through each rule family's ``track`` and turns
the decisions into alert changes.  The engine keeps one :class:`SiteState` per site between ticks and
rebuilds it from the open alerts after a restart (:func:`resume_site`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hub.calendar import Calendar, required_state, vault_required
from hub.rules import idcard, jammer, vault
from hub.rules.changes import AlertChange, CloseAlert, OpenAlert, RaiseSeverity, higher
from hub.rules.gonogo import AgentSeen
from hub.rules.jammer import DeviceSeen, Finding
from hub.rules.settings import RulesSettings
from hub.rules.vault import VaultContext, VaultFinding, camera_seen
from hub.rules.windows import vault_authorised
from protocol.messages import Scalar, Severity

# The kinds of alert this module opens, by which ``track`` follows them.
ROOM_KINDS = ("jammer.", "idcard.reader_")
VAULT_KINDS = ("vault.",)
DEFAULT_VAULT = "vault"
# Alerts must name an agent; a site the calendar names but no agent ever reported from gets this one.
NO_AGENT = "hub"


@dataclass(frozen=True, slots=True)
class SiteView:
    """What the hub holds about one site (``<city>/<site>``): its agents and their devices' latest states."""

    site: str
    agents: tuple[AgentSeen, ...] = ()
    devices: tuple[DeviceSeen, ...] = ()
    # device id → the agent reporting it (device ids are unique per agent; the first agent wins a clash)
    owners: Mapping[str, str] = field(default_factory=dict)

    @property
    def rooms(self) -> frozenset[str]:
        return frozenset(d.room for d in self.devices if d.room)

    @property
    def exam_rooms(self) -> frozenset[str]:
        """The rooms a session's ``<site>/*`` takes in: those with exam-room equipment (a jammer, a probe or
        a reader).  A room with only cameras is a vault, watched by the vault rules, not sat in."""
        return frozenset(d.room for d in self.devices if d.room and d.kind in ("jammer", "probe", "idcard"))

    def agent_for(self, device_id: str | None = None, room: str | None = None) -> str:
        """The agent an alert about this device (or room) belongs to."""
        if device_id is not None and device_id in self.owners:
            return self.owners[device_id]
        in_room = sorted(self.owners[d.id] for d in self.devices if room is not None and d.room == room)
        if in_room:
            return in_room[0]
        if self.agents:
            return min(a.agent_id for a in self.agents)
        return f"{self.site}/{NO_AGENT}"


@dataclass(frozen=True, slots=True)
class SiteFindings:
    rooms: tuple[Finding, ...] = ()
    vault: tuple[VaultFinding, ...] = ()


def evaluate_site(
    calendar: Calendar,
    view: SiteView,
    now: datetime,
    *,
    arrival_reported_at: datetime | None = None,
    settings: RulesSettings | None = None,
) -> SiteFindings:
    """Everything wrong at the site at ``now`` given the calendar; no hysteresis."""
    settings = settings or RulesSettings()
    site, devices, inventory = view.site, view.devices, view.exam_rooms
    rooms = list(jammer.site_findings(calendar, site, devices, now, rooms=inventory, policy=settings.jammer))
    reader_rooms = {d.room for d in devices if d.kind == "idcard" and d.room}
    for session in calendar.sessions_at(site):
        reader_rooms |= session.rooms_at(site, inventory)
    for room in sorted(reader_rooms - {"*"}):
        required = required_state(calendar, site, room, now, arrival_reported_at=arrival_reported_at)
        rooms += idcard.reader_findings(site, room, required, devices, now, stale_after=settings.stale_after)
    return SiteFindings(tuple(rooms), _vault_findings(calendar, view, now, arrival_reported_at, settings))


def _vault_findings(
    calendar: Calendar, view: SiteView, now: datetime, arrival: datetime | None, settings: RulesSettings
) -> tuple[VaultFinding, ...]:
    cameras = [d for d in view.devices if d.kind == "camera"]
    in_custody = vault_required(calendar, view.site, now, arrival_reported_at=arrival)
    if not cameras and not in_custody:
        return ()
    authorised = vault_authorised(calendar, view.site, now, arrival_reported_at=arrival, windows=settings.windows)
    by_vault: dict[str, list[DeviceSeen]] = {}
    for cam in cameras:
        by_vault.setdefault(cam.room or DEFAULT_VAULT, []).append(cam)
    if not by_vault:
        by_vault[DEFAULT_VAULT] = []
    found: list[VaultFinding] = []
    for name, cams in sorted(by_vault.items()):
        ctx = VaultContext(view.site, name, in_custody=in_custody, authorised=authorised)
        seen = [camera_seen(c.id, c.status, c.details, c.seen_at) for c in cams]
        found += vault.vault_findings(ctx, seen, now, settings.vault)
    return tuple(found)


# --- hysteresis ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SiteState:
    rooms: Mapping[str, jammer.Tracked[Finding]] = field(default_factory=dict)
    vault: Mapping[str, vault.Tracked[vault.VaultFinding]] = field(default_factory=dict)
    # The severity each open room alert has in the database, so a rise (warning → critical when a
    # check-in window opens) updates it in place.
    written: Mapping[str, Severity] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.rooms and not self.vault


def advance_site(
    state: SiteState, findings: SiteFindings, view: SiteView, now: datetime, settings: RulesSettings | None = None
) -> tuple[SiteState, list[AlertChange]]:
    """One tick of both rule families' hysteresis; returns the new state and the alert changes to apply."""
    settings = settings or RulesSettings()
    changes: list[AlertChange] = []
    rooms, room_changes = jammer.track(state.rooms, findings.rooms, now, settings.hysteresis)
    written = dict(state.written)
    for change in room_changes:
        f = change.finding
        if isinstance(change, jammer.Raised):
            changes.append(_open_room(f, view, now))
            written[f.fingerprint] = f.severity
        else:
            changes.append(CloseAlert(f.fingerprint, now))
            written.pop(f.fingerprint, None)
    for fingerprint, item in rooms.items():
        before = written.get(fingerprint)
        if item.raised_at is not None and before is not None and higher(item.finding.severity, before):
            f = item.finding
            changes.append(RaiseSeverity(fingerprint, f.severity, f.summary, _room_details(f)))
            written[fingerprint] = f.severity
    vaults, vault_changes = vault.track(state.vault, findings.vault, now, settings.vault)
    for decision in vault_changes:
        v = decision.finding
        if isinstance(decision, vault.Raise):
            details: dict[str, Scalar] = {**v.details, "site": v.site, "vault": v.vault}
            details["held_s"] = round((decision.at - decision.since).total_seconds(), 1)
            # A vault-wide finding names the camera that counted (whose snapshot is the evidence).
            camera = v.camera or _text(v.details.get("camera")) or None
            agent = view.agent_for(camera, v.vault)
            changes.append(OpenAlert(v.fingerprint, v.kind, v.severity, agent, v.summary, now, camera, details))
        else:
            changes.append(CloseAlert(v.fingerprint, now))
    return SiteState(rooms, vaults, written), changes


def _room_details(f: Finding) -> dict[str, Scalar]:
    return {**f.details, "site": f.site, "room": f.room}


def _open_room(f: Finding, view: SiteView, now: datetime) -> OpenAlert:
    agent = view.agent_for(f.device_id, f.room)
    return OpenAlert(f.fingerprint, f.kind, f.severity, agent, f.summary, now, f.device_id, _room_details(f))


# --- after a restart -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenRuleAlert:
    """An open alert as stored, enough to resume the hysteresis that opened it."""

    fingerprint: str
    kind: str
    severity: Severity
    site: str
    device_id: str | None
    summary: str
    details: Mapping[str, Scalar]
    opened_at: datetime


def resume_site(alerts: Iterable[OpenRuleAlert], now: datetime) -> SiteState:
    """The state under which the site's open alerts clear by the usual rules once their condition is gone."""
    rooms: list[tuple[Finding, datetime]] = []
    vaults: dict[str, vault.Tracked[VaultFinding]] = {}
    written: dict[str, Severity] = {}
    for a in alerts:
        room = _text(a.details.get("room"))
        if a.kind.startswith(ROOM_KINDS):
            f = Finding(a.fingerprint, a.kind, a.severity, a.site, room, a.device_id, a.summary, dict(a.details))
            rooms.append((f, a.opened_at))
            written[a.fingerprint] = a.severity
        elif a.kind.startswith(VAULT_KINDS):
            name = _text(a.details.get("vault")) or DEFAULT_VAULT
            v = VaultFinding(a.fingerprint, a.kind, a.severity, a.site, name, a.device_id, a.summary, dict(a.details))
            vaults[a.fingerprint] = vault.Tracked(v, first_seen=a.opened_at, last_seen=now, raised_at=a.opened_at)
    return SiteState(jammer.resumed(rooms, now), vaults, written)


def _text(value: Scalar | None) -> str:
    return value if isinstance(value, str) else ""
