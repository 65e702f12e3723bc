"""Vault rules (V4-V7) over what the vault cameras report: the two-person rule, occupancy outside an
authorised window, camera health, and whether the vault is watched at all.

:func:`vault_findings` says what is wrong in one vault at one instant; :func:`track` turns findings into
alert decisions: a finding is raised once it has held for its kind's delay, once per episode (not once
per frame or per evaluation), and cleared after it has been absent for ``clear_after``.

    vault.alone              critical  exactly one person in the vault for longer than ``alone_after``
                                       while papers are in custody (rule V6: nobody alone with the papers)
    vault.outside_window     critical  anyone in the vault outside an authorised window (rule V7)
    vault.camera             a vault camera has a problem (signal_lost, frozen, covered, defocused, moved,
                             scene_changed, not_reporting, fault) — critical during custody, warning
                             otherwise (rule V4); a camera without tamper baseline is a warning
                             (``no_baseline``): it cannot tell a covered lens
    vault.unobserved         no camera of the vault is healthy — critical during custody, warning otherwise

The vault's occupancy is the largest count among its cameras that can see (fresh, not blind): two
cameras each seeing one person may see the same one.  Blind cameras count for nothing; when none can
see, occupancy is unknown and only ``vault.unobserved`` speaks.  The caller decides what "authorised"
means at ``now`` (hand-out and return windows from the calendar; outside custody, its own policy).

The camera details read here are the camera driver's (``agent/drivers/camera/report.py``): ``people``,
``problems`` (comma-separated), ``tamper_checks``, ``snapshot`` (SHA-256 of the latest entry/exit JPEG).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from hub.rules import hysteresis
from protocol.messages import DeviceStatus, Scalar, Severity

# Problems that leave a camera unable to see the room at all.
BLINDING: Final = frozenset({"signal_lost", "frozen", "covered", "scene_changed", "not_reporting", "fault"})


@dataclass(frozen=True, slots=True)
class CameraSeen:
    """One vault camera's latest state as the hub holds it; ``seen_at`` is the hub's time of that state."""

    camera: str
    status: DeviceStatus
    seen_at: datetime | None
    people: int | None
    problems: tuple[str, ...]
    tamper_checks: bool
    snapshot: str | None = None


def camera_seen(
    camera: str, status: DeviceStatus, details: Mapping[str, Scalar], seen_at: datetime | None
) -> CameraSeen:
    """Read a camera driver's state details; anything missing or malformed reads as "don't know"."""
    people = details.get("people")
    problems = details.get("problems")
    snapshot = details.get("snapshot")
    return CameraSeen(
        camera=camera,
        status=status,
        seen_at=seen_at,
        people=people if isinstance(people, int) and not isinstance(people, bool) and people >= 0 else None,
        problems=tuple(p for p in problems.split(",") if p) if isinstance(problems, str) else (),
        tamper_checks=details.get("tamper_checks") is True,
        snapshot=snapshot if isinstance(snapshot, str) and snapshot else None,
    )


@dataclass(frozen=True, slots=True)
class VaultContext:
    site: str
    vault: str
    # Papers are in the vault (the calendar's custody, opened by the arrival report).
    in_custody: bool
    # People may be in the vault now (a scheduled hand-out or return window).
    authorised: bool


@dataclass(frozen=True, slots=True)
class VaultPolicy:
    # "More than a few seconds" (rule V6): long enough for a second person following through the door.
    alone_after: timedelta = timedelta(seconds=8)
    # A miscount for a moment must not page the duty desk about an unscheduled visit.
    outside_window_after: timedelta = timedelta(seconds=5)
    # Camera states already carry the agent's hysteresis; the hub adds none by default.
    camera_after: timedelta = timedelta(0)
    unobserved_after: timedelta = timedelta(0)
    # Short: the agent already holds its states (hysteresis, smoothed counts); a person who leaves and comes
    # back alone a few seconds later is a new breach, not the same one.
    clear_after: timedelta = timedelta(seconds=2)
    # A state older than this says nothing about now (the agent reports at least every state_interval_s).
    stale_after: timedelta = timedelta(seconds=30)

    def delay(self, kind: str) -> timedelta:
        return {
            "vault.alone": self.alone_after,
            "vault.outside_window": self.outside_window_after,
            "vault.camera": self.camera_after,
            "vault.unobserved": self.unobserved_after,
        }.get(kind, timedelta(0))


@dataclass(frozen=True, slots=True)
class VaultFinding:
    fingerprint: str
    kind: str
    severity: Severity
    site: str
    vault: str
    camera: str | None
    summary: str
    details: Mapping[str, Scalar] = field(default_factory=dict)


def camera_problems(cam: CameraSeen, now: datetime, policy: VaultPolicy = VaultPolicy()) -> tuple[str, ...]:
    if cam.seen_at is None or now - cam.seen_at > policy.stale_after or cam.status in ("offline", "unknown"):
        return ("not_reporting",)
    problems = cam.problems
    if cam.status == "fault" and not problems:
        problems = ("fault",)
    if not cam.tamper_checks:
        problems = (*problems, "no_baseline")
    return problems


def vault_findings(
    ctx: VaultContext, cameras: Iterable[CameraSeen], now: datetime, policy: VaultPolicy = VaultPolicy()
) -> tuple[VaultFinding, ...]:
    """What is wrong in the vault at ``now``; no hysteresis (see :func:`track`)."""
    found: list[VaultFinding] = []
    seeing: list[CameraSeen] = []
    healthy = 0
    cams = list(cameras)
    severity: Severity = "critical" if ctx.in_custody else "warning"
    where = f"vault {ctx.vault} at {ctx.site}"
    for cam in cams:
        problems = camera_problems(cam, now, policy)
        if not BLINDING & set(problems) and cam.people is not None:
            seeing.append(cam)
        if not [p for p in problems if p != "no_baseline"]:
            healthy += 1
        for problem in problems:
            level: Severity = "warning" if problem == "no_baseline" else severity
            summary = f"Camera {cam.camera} of {where}: {problem.replace('_', ' ')}"
            info: dict[str, Scalar] = {"problem": problem, "in_custody": ctx.in_custody}
            found.append(_finding(ctx, "vault.camera", level, summary, info, camera=cam.camera, part=problem))
    if healthy == 0:
        summary = f"{where.capitalize()} is unobserved: no healthy camera" + (
            " while papers are stored" if ctx.in_custody else ""
        )
        found.append(
            _finding(ctx, "vault.unobserved", severity, summary, {"cameras": len(cams), "in_custody": ctx.in_custody})
        )
    if not seeing:
        return tuple(found)
    counted = max(seeing, key=lambda c: c.people or 0)
    people = counted.people or 0
    base: dict[str, Scalar] = {"people": people, "camera": counted.camera, "snapshot": counted.snapshot}
    if people == 1 and ctx.in_custody:
        summary = f"Person alone with papers in {where} (camera {counted.camera})"
        found.append(_finding(ctx, "vault.alone", "critical", summary, base))
    if people >= 1 and not ctx.authorised:
        summary = f"{people} {'person' if people == 1 else 'people'} in {where} outside an authorised window"
        found.append(_finding(ctx, "vault.outside_window", "critical", summary, base))
    return tuple(found)


def _finding(
    ctx: VaultContext,
    kind: str,
    severity: Severity,
    summary: str,
    details: Mapping[str, Scalar],
    *,
    camera: str | None = None,
    part: str | None = None,
) -> VaultFinding:
    # Severity is part of the identity: a warning that becomes critical when custody starts is a new alert.
    fingerprint = ":".join(x for x in (kind, ctx.site, ctx.vault, camera, part, severity) if x)
    return VaultFinding(fingerprint, kind, severity, ctx.site, ctx.vault, camera, summary, dict(details))


# --- episodes ---------------------------------------------------------------------------------------


# The shared tracker (:mod:`hub.rules.hysteresis`), held per vault finding.
Tracked = hysteresis.Tracked
Raise = hysteresis.Raise
Clear = hysteresis.Clear
Decision = Raise[VaultFinding] | Clear[VaultFinding]
TrackState = Mapping[str, Tracked[VaultFinding]]


def track(
    state: TrackState, findings: Iterable[VaultFinding], now: datetime, policy: VaultPolicy = VaultPolicy()
) -> tuple[dict[str, Tracked[VaultFinding]], list[Decision]]:
    """Advance the episodes by one evaluation; call with every evaluation's findings (e.g. every second
    and whenever a camera state arrives).  ``findings`` must cover the whole scope ``state`` covers: a
    tracked finding missing from it counts as absent.  A pending finding that goes absent is forgotten
    (it never held long enough: a pass-through shorter than ``alone_after`` raises nothing); a raised one
    clears after ``clear_after`` of absence.  Returns the new state and the decisions to apply.
    """
    return hysteresis.track(state, findings, now, delay=lambda f: policy.delay(f.kind), clear_after=policy.clear_after)
