"""What a camera tells the hub: its state details and events, built from the analysis (pure).

State details (all scalars; measured values move in steps so a state goes out when something changes,
not every tick)::

    source          rtsp | usb | file | synthetic
    signal          ok | lost | starting
    problems        comma-separated active problems, "" when healthy (signal_lost, frozen, covered,
                    defocused, moved, scene_changed); each also as a bool of its own name
    tamper          the first active tamper problem, or "none"
    tamper_checks   whether covered/defocused/moved checks run; baseline: whether a baseline is loaded
    tamper_checks_off  why not ("" when they run)
    people          people counted (smoothed); motion: bool, or None while the motion model learns
    brightness, lighting, sharpness_ratio, shift_px, rotation_deg, match_share   the latest measures
    reconnects      times the source was reopened; error: why the last open or read failed
    snapshot        SHA-256 of the latest entry/exit snapshot ("" none yet)

Events: ``camera.signal_lost``, ``camera.frozen`` and ``camera.tamper`` (``problem`` = covered, defocused,
moved, scene_changed) when a problem starts, ``camera.recovered`` when it ends; ``vault.entry`` and
``vault.exit`` when the count goes up or down, with the snapshot's reference (``snapshot``,
``snapshot_bytes``) — never the picture itself.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from agent.drivers.base import DriverEvent
from agent.drivers.camera.analysis.analyser import Analysis, OccupancyChange
from agent.drivers.camera.analysis.health import PROBLEMS, TAMPER, HealthChange, Problem
from agent.drivers.camera.grabber import GrabberStatus
from agent.drivers.camera.worker import WorkerEvent
from protocol.messages import DeviceStatus, Scalar, Severity

FAULTS: Final[frozenset[Problem]] = frozenset({"signal_lost", "frozen", "covered"})
CRITICAL: Final[frozenset[Problem]] = FAULTS
NO_BASELINE: Final = "no baseline: run `sitewatch agent commission-camera --config FILE --camera {id}`"
MAX_TEXT = 200

# Reported measures move in these steps (value → nearest multiple, held until it moves a full step).
STEPS: Final[dict[str, float]] = {
    "brightness": 8.0,
    "sharpness_ratio": 0.1,
    "shift_px": 1.0,
    "rotation_deg": 0.5,
    "match_share": 0.05,
    "smallest_person": 0.02,
}


class Steady:
    """Holds each reported measure until it moves by at least its step."""

    def __init__(self) -> None:
        self._held: dict[str, float] = {}

    def value(self, key: str, value: float | None) -> float | None:
        if value is None:
            self._held.pop(key, None)
            return None
        step = STEPS[key]
        held = self._held.get(key)
        if held is None or abs(value - held) >= step:
            held = round(value / step) * step
            self._held[key] = held
        return round(held, 2)


def status_of(analysis: Analysis | None, events_dropped: int = 0) -> DeviceStatus:
    # Entries and exits lost before the agent took them: the count is still right, the timeline is not.
    if analysis is None:
        return "warning" if events_dropped else "unknown"
    active = set(analysis.problems)
    if active & FAULTS:
        return "fault"
    if events_dropped:
        return "warning"
    if not analysis.started:
        return "unknown"
    if active or not analysis.tamper_checks:
        return "warning"
    return "ok"


def details(
    device_id: str,
    source_kind: str,
    analysis: Analysis | None,
    *,
    grabber: GrabberStatus,
    steady: Steady,
    latest_snapshot: str,
    events_dropped: int = 0,
) -> dict[str, Scalar]:
    out: dict[str, Scalar] = {"source": source_kind}
    if events_dropped:
        out["events_dropped"] = events_dropped
    if analysis is None:
        out.update(signal="starting", problems="", tamper="none", people=0, motion=None)
        out.update(tamper_checks=False, baseline=False, tamper_checks_off="starting")
        return out
    active = analysis.problems
    out["signal"] = "lost" if "signal_lost" in active else "ok" if analysis.started else "starting"
    out["problems"] = ",".join(active)
    for problem in PROBLEMS:
        out[problem] = problem in active
    out["tamper"] = next((p for p in active if p in TAMPER), "none")
    out["tamper_checks"] = analysis.tamper_checks
    out["baseline"] = analysis.tamper_checks
    out["tamper_checks_off"] = "" if analysis.tamper_checks else NO_BASELINE.format(id=device_id)
    out["people"] = analysis.people
    out["motion"] = analysis.motion
    m = analysis.metrics
    out["brightness"] = steady.value("brightness", m.brightness)
    out["lighting"] = m.lighting
    out["sharpness_ratio"] = steady.value("sharpness_ratio", m.sharpness_ratio)
    out["shift_px"] = steady.value("shift_px", m.shift_px)
    out["rotation_deg"] = steady.value("rotation_deg", m.rotation_deg)
    out["match_share"] = steady.value("match_share", m.match_share)
    out["smallest_person"] = steady.value("smallest_person", analysis.smallest_person)
    out["reconnects"] = max(0, grabber.opens - 1)
    out["error"] = grabber.error[:MAX_TEXT] if not grabber.connected else ""
    out["snapshot"] = latest_snapshot
    return out


def driver_event(event: WorkerEvent, poll_now: datetime, poll_mono: float) -> DriverEvent:
    """``event`` on the supervisor's clock: its monotonic time placed relative to the last poll."""
    at = poll_now - timedelta(seconds=poll_mono - event.at)
    change = event.change
    if isinstance(change, OccupancyChange):
        name = "vault.entry" if change.people > change.was else "vault.exit"
        info: dict[str, Scalar] = {"people": change.people, "was": change.was}
        if event.snapshot is not None:
            info.update(
                snapshot=event.snapshot.sha256,
                snapshot_bytes=event.snapshot.size,
                snapshot_width=event.snapshot.width,
                snapshot_height=event.snapshot.height,
            )
        return DriverEvent(name, "info", at, info)
    return _health_event(change, at)


def _health_event(change: HealthChange, at: datetime) -> DriverEvent:
    info: dict[str, Scalar] = {
        "problem": change.problem,
        "detail": change.detail[:MAX_TEXT],
        # How long after the condition began (or ended) the state flipped: the detection latency.
        "after_s": round(change.t - change.since, 2),
    }
    if not change.on:
        return DriverEvent("camera.recovered", "info", at, info)
    severity: Severity = "critical" if change.problem in CRITICAL else "warning"
    if change.problem in TAMPER:
        return DriverEvent("camera.tamper", severity, at, info)
    return DriverEvent(f"camera.{change.problem}", severity, at, info)
