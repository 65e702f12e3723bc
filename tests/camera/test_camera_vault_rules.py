"""The hub's vault rules (pure): two-person rule, unscheduled occupancy, camera health, unobserved vault."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from agent.drivers.camera import report
from agent.drivers.camera.analysis.analyser import Analysis
from agent.drivers.camera.analysis.health import HealthMetrics
from agent.drivers.camera.grabber import GrabberStatus
from hub.rules.vault import (
    CameraSeen,
    Clear,
    Decision,
    Raise,
    TrackState,
    VaultContext,
    VaultPolicy,
    camera_seen,
    track,
    vault_findings,
)

T0 = datetime(2026, 6, 6, 8, 0, tzinfo=UTC)
CUSTODY = VaultContext(site="weihai/no1-school", vault="vault", in_custody=True, authorised=True)
POLICY = VaultPolicy(alone_after=timedelta(seconds=10), clear_after=timedelta(seconds=5))


def cam(people: int | None, *, at: datetime, problems: tuple[str, ...] = (), name: str = "cam1") -> CameraSeen:
    status = "fault" if {"covered", "signal_lost", "frozen"} & set(problems) else "ok"
    return CameraSeen(name, status, at, people, problems, tamper_checks=True, snapshot="ab" * 32)


def replay(
    timeline: Iterable[tuple[float, list[CameraSeen] | None]], ctx: VaultContext = CUSTODY
) -> list[tuple[float, Decision]]:
    """Evaluate once a second as the hub would; ``None`` keeps the cameras of the previous second."""
    state: TrackState = {}
    out: list[tuple[float, Decision]] = []
    cameras: list[CameraSeen] = []
    for second, seen in timeline:
        now = T0 + timedelta(seconds=second)
        if seen is not None:
            cameras = seen
        fresh = [replace(c, seen_at=now) for c in cameras]
        state, decisions = track(state, vault_findings(ctx, fresh, now, POLICY), now, POLICY)
        out += [(second, d) for d in decisions]
    return out


def people_for(counts: list[int]) -> list[tuple[float, list[CameraSeen] | None]]:
    return [(float(s), [cam(n, at=T0)]) for s, n in enumerate(counts)]


def kinds(decisions: list[tuple[float, Decision]]) -> list[tuple[float, str, str]]:
    return [(s, type(d).__name__, d.finding.kind) for s, d in decisions]


def test_one_person_alone_too_long_raises_one_critical_alert() -> None:
    decisions = replay(people_for([0] * 3 + [1] * 40 + [0] * 10))
    # Cleared clear_after (5 s) after the last second alone (42).
    assert kinds(decisions) == [(13.0, "Raise", "vault.alone"), (47.0, "Clear", "vault.alone")]
    raised = decisions[0][1]
    assert isinstance(raised, Raise)
    assert raised.finding.severity == "critical"
    assert raised.since == T0 + timedelta(seconds=3)
    assert raised.finding.details["snapshot"] == "ab" * 32
    assert "alone with papers" in raised.finding.summary


def test_two_people_are_not_alone() -> None:
    assert replay(people_for([0] * 3 + [2] * 60 + [0] * 3)) == []


def test_a_pass_through_shorter_than_the_limit_raises_nothing() -> None:
    # One goes ahead, the second follows 6 s later; later one leaves 8 s before the other.
    assert replay(people_for([1] * 6 + [2] * 30 + [1] * 8 + [0] * 5)) == []


def test_each_episode_alone_is_its_own_alert() -> None:
    decisions = replay(people_for([1] * 15 + [2] * 10 + [1] * 15 + [0] * 6))
    assert kinds(decisions) == [
        (10.0, "Raise", "vault.alone"),
        (19.0, "Clear", "vault.alone"),
        (35.0, "Raise", "vault.alone"),
        (44.0, "Clear", "vault.alone"),
    ]


def test_anyone_outside_an_authorised_window_is_critical() -> None:
    shut = replace(CUSTODY, authorised=False)
    decisions = replay(people_for([0] * 2 + [2] * 20), shut)
    assert kinds(decisions) == [(7.0, "Raise", "vault.outside_window")]
    assert decisions[0][1].finding.severity == "critical"


def test_camera_problems_are_critical_in_custody_and_warnings_outside() -> None:
    timeline = [(0.0, [cam(0, at=T0, problems=("defocused",))])] + [(float(s), None) for s in range(1, 4)]
    inside = replay(timeline)
    outside = replay(timeline, replace(CUSTODY, in_custody=False))
    # Its only camera defocused, the vault is also unobserved.
    assert sorted((d.finding.kind, d.finding.severity) for _, d in inside) == [
        ("vault.camera", "critical"),
        ("vault.unobserved", "critical"),
    ]
    assert inside[0][1].finding.details["problem"] == "defocused"
    assert sorted((d.finding.kind, d.finding.severity) for _, d in outside) == [
        ("vault.camera", "warning"),
        ("vault.unobserved", "warning"),
    ]


def test_a_vault_with_no_healthy_camera_is_unobserved() -> None:
    covered = cam(None, at=T0, problems=("covered",))
    healthy = cam(0, at=T0, name="cam2")
    alone = replay([(0.0, [covered])])
    assert sorted(d.finding.kind for _, d in alone) == ["vault.camera", "vault.unobserved"]
    assert replay([(0.0, [covered, healthy])]) != []
    assert "vault.unobserved" not in {d.finding.kind for _, d in replay([(0.0, [covered, healthy])])}


def test_a_silent_camera_counts_as_not_reporting() -> None:
    now = T0 + timedelta(minutes=5)
    stale = cam(1, at=T0)
    findings = vault_findings(CUSTODY, [stale], now, POLICY)
    assert {(f.kind, f.details.get("problem")) for f in findings} == {
        ("vault.camera", "not_reporting"),
        ("vault.unobserved", None),
    }
    # A camera that cannot see counts for nobody: no "alone" from a stale count.
    assert "vault.alone" not in {f.kind for f in findings}


def test_the_largest_count_of_the_cameras_that_can_see_wins() -> None:
    two = [cam(1, at=T0, name="door"), cam(2, at=T0, name="shelves")]
    assert replay([(float(s), two) for s in range(30)]) == []


def test_custody_starting_escalates_a_camera_warning() -> None:
    state: TrackState = {}
    problem = [cam(0, at=T0, problems=("moved",))]
    seen: list[Decision] = []
    for second in range(12):
        now = T0 + timedelta(seconds=second)
        ctx = replace(CUSTODY, in_custody=second >= 4)
        state, decisions = track(
            state, vault_findings(ctx, [replace(c, seen_at=now) for c in problem], now, POLICY), now, POLICY
        )
        seen += [d for d in decisions if d.finding.kind == "vault.camera"]
    assert [(type(d).__name__, d.finding.severity) for d in seen] == [
        ("Raise", "warning"),
        ("Raise", "critical"),
        ("Clear", "warning"),
    ]
    assert isinstance(seen[2], Clear)


def test_the_hub_reads_what_the_camera_driver_reports() -> None:
    # The contract between agent/drivers/camera/report.py and hub/rules/vault.py, end to end.
    analysis = Analysis(
        t=0.0,
        people=1,
        motion=False,
        motion_share=0.0,
        seen=None,
        problems=("covered",),
        metrics=HealthMetrics(brightness=8.0),
        tamper_checks=True,
    )
    status = GrabberStatus(connected=True, error="", opens=1, abandoned=0)
    details = report.details(
        "cam1", "rtsp", analysis, grabber=status, steady=report.Steady(), latest_snapshot="cd" * 32
    )
    seen = camera_seen("cam1", report.status_of(analysis), details, T0)
    assert (seen.people, seen.problems, seen.tamper_checks, seen.snapshot, seen.status) == (
        1,
        ("covered",),
        True,
        "cd" * 32,
        "fault",
    )
    no_baseline = report.details(
        "cam1",
        "rtsp",
        replace(analysis, problems=(), tamper_checks=False),
        grabber=status,
        steady=report.Steady(),
        latest_snapshot="",
    )
    parsed = camera_seen("cam1", "warning", no_baseline, T0)
    assert not parsed.tamper_checks
    assert {f.details.get("problem") for f in vault_findings(CUSTODY, [parsed], T0, POLICY)} >= {"no_baseline"}
