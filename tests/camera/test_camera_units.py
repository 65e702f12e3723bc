"""The camera's pure parts with plain data: hysteresis, the people counter, sources, reporting, files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import camera_tamper as tamper
import msgspec
import numpy as np
import pytest
from camera_footage import ONE_BY_ONE, Frame, truth

from agent.drivers.camera import baseline_store, report
from agent.drivers.camera.analysis import image
from agent.drivers.camera.analysis.alignment import ReferenceMatcher
from agent.drivers.camera.analysis.analyser import Analysis, OccupancyChange
from agent.drivers.camera.analysis.baseline import Baseline, BaselineError, make_baseline
from agent.drivers.camera.analysis.health import HealthChange, HealthMetrics
from agent.drivers.camera.analysis.hysteresis import Hysteresis
from agent.drivers.camera.analysis.occupancy import CountChange, PeopleCounter
from agent.drivers.camera.analysis.people import around, within
from agent.drivers.camera.config import CameraConfig
from agent.drivers.camera.errors import BaselineFileError
from agent.drivers.camera.grabber import GrabberStatus
from agent.drivers.camera.snapshot import SnapshotStore, encode
from agent.drivers.camera.source import parse_source, redact
from agent.drivers.camera.worker import WorkerEvent
from protocol.validation import Problem, convert, problem

# --- hysteresis -------------------------------------------------------------------------------------


def test_hysteresis_needs_the_condition_to_hold_and_to_be_gone() -> None:
    h = Hysteresis(on_after_s=3.0, off_after_s=2.0)
    assert h.update(0.0, True) is None
    assert h.update(2.5, True) is None
    flip = h.update(3.0, True)
    assert flip is not None
    assert (flip.on, flip.since) == (True, 0.0)
    assert h.update(4.0, False) is None
    assert h.update(5.0, True) is None  # a glimpse of the condition restarts the "gone" streak
    assert h.update(6.0, False) is None
    flip = h.update(8.0, False)
    assert flip is not None
    assert (flip.on, flip.since) == (False, 6.0)


def test_hysteresis_counts_from_when_the_condition_really_began() -> None:
    h = Hysteresis(on_after_s=5.0, off_after_s=1.0)
    assert h.update(4.0, True, since=0.5) is None
    flip = h.update(5.5, True, since=0.5)
    assert flip is not None
    assert flip.since == 0.5


def test_a_short_blip_does_not_flip() -> None:
    h = Hysteresis(on_after_s=3.0, off_after_s=3.0)
    for t in range(10):
        assert h.update(float(t), t % 3 == 0) is None
    assert not h.on


# --- people counter ---------------------------------------------------------------------------------


def test_count_goes_up_on_two_of_three_looks() -> None:
    c = PeopleCounter(enter_votes=2, exit_after_s=2.0)
    assert c.due(0.0, True)
    assert c.look(0.0, 1) is None  # one stray detection is not an entry
    assert c.look(0.5, 0) is None
    change = c.look(1.0, 1)
    assert change is not None
    assert (change.was, change.people) == (0, 1)


def test_a_still_person_missed_by_the_detector_is_kept() -> None:
    c = PeopleCounter(enter_votes=1, exit_after_s=2.0, recheck_s=1.0, still_exit_after_s=30.0)
    c.due(0.0, True)
    c.look(0.0, 1)  # walks in
    assert c.due(3.0, False)  # stops moving: a moment worth a look
    c.look(3.0, 1)
    # Nothing moves for a long time (MOG2 has absorbed them) and the detector misses them every time.
    t = 3.0
    while t < 32.0:  # still_exit_after_s after the last look that saw them
        t += 0.5
        if c.due(t, False):
            assert c.look(t, 0) is None
    assert c.count == 1
    assert not c.due(t + 0.4, False)  # looking again only every recheck_s while still


def test_a_settled_count_is_looked_at_only_when_motion_changes_or_rarely() -> None:
    c = PeopleCounter(enter_votes=2, recheck_s=1.0, settled_recheck_s=6.0, still_recheck_s=10.0, settle_s=1.0)
    for t in (0.0, 0.5, 1.0):  # a count that has just changed is still in doubt: every moving frame
        assert c.due(t, True)
        c.look(t, 1)
    # The one person counted moves about where they were seen (not elsewhere).
    looked = [t / 2 for t in range(3, 60) if c.due(t / 2, t < 20, elsewhere=False) and c.look(t / 2, 1) is None]
    # Moving and settled: every 6 s; motion stops at 10 s: look; then still and settled: every 10 s.
    assert looked == [7.0, 10.0, 20.0]
    assert c.due(29.0, True, elsewhere=False)  # motion starts: a look
    c.look(29.0, 1)
    assert not c.due(29.5, True, elsewhere=False)  # moving about where they were seen: no look
    assert c.due(30.0, True, elsewhere=True)  # motion away from them: someone else may have come
    # A look that disagrees (someone else may have come) puts the count in doubt again.
    assert c.look(30.0, 2) is None  # one look is no entry
    assert c.due(30.5, True, elsewhere=False)
    assert c.look(30.5, 2) is not None
    assert c.count == 2


def test_motion_is_elsewhere_when_it_leaves_where_people_were_seen() -> None:
    person = (0.4, 0.2, 0.6, 0.9)
    assert within((0.45, 0.3, 0.55, 0.8), around(person))
    assert within((0.35, 0.2, 0.65, 0.9), around(person))  # a step aside is still them
    assert not within((0.05, 0.3, 0.2, 0.8), around(person))
    assert not within((0.3, 0.2, 0.9, 0.9), around(person))  # and someone beside them


def test_an_empty_room_is_looked_at_only_while_something_moves() -> None:
    c = PeopleCounter()
    assert c.due(0.0, False)  # the first frame is always looked at
    c.look(0.0, 0)
    assert not any(c.due(t / 2, False) for t in range(1, 100))
    assert c.due(50.0, True)
    c.look(50.0, 0)
    assert c.due(50.5, True)


def test_an_empty_room_ignores_motion_too_short_to_be_a_whole_person() -> None:
    c = PeopleCounter()
    c.due(0.0, False)
    c.look(0.0, 0)
    assert not c.due(1.0, True, whole=False)  # a door, an arm, someone only half in view
    assert c.due(1.5, True, whole=True)  # now tall enough to be someone walking in
    c.look(1.5, 0)
    assert not c.due(2.0, True, whole=False)
    assert c.due(2.5, False)  # the motion stopped: someone may be standing there now


def missing_everyone(c: PeopleCounter, until: float, moving: bool) -> tuple[list[float], list[CountChange]]:
    """Frames at 2 fps from 0.5 s to ``until`` where the detector, whenever asked, sees nobody while the
    picture is not the empty room (and whatever moves, moves where the counted people were)."""
    looks, changes = [], []
    for step in range(1, round(until * 2)):
        t = step * 0.5
        if c.due(t, moving, elsewhere=False, vacant=False):
            looks.append(t)
            if (change := c.look(t, 0, vacant=False)) is not None:
                changes.append(change)
    return looks, changes


def test_a_person_the_detector_keeps_missing_is_held_while_the_picture_shows_them() -> None:
    c = PeopleCounter(enter_votes=1, exit_after_s=2.0, settled_recheck_s=6.0, still_recheck_s=10.0)
    c.due(0.0, True)
    c.look(0.0, 1)
    # They move about where they were; from now on the detector misses them, but the room is not empty.
    looks, changes = missing_everyone(c, 20.0, moving=True)
    assert changes == []
    assert c.count == 1
    # A new count is looked at on every moving frame; the misses would drop it at 2 s (exit_after_s), but
    # the picture holds it, and then it is looked at only every still_recheck_s.
    assert looks == [0.5, 1.0, 1.5, 2.0, 12.0]
    # The picture turns into the empty room: a look at once, and the count falls.
    assert c.due(20.0, True, elsewhere=False, vacant=True)
    change = c.look(20.0, 0, vacant=True)
    assert change is not None
    assert (change.was, change.people) == (1, 0)


def test_a_held_count_still_decays_after_still_exit_after_s() -> None:
    # Whatever keeps the picture unlike the empty room (a box left behind) pins nobody for ever.
    c = PeopleCounter(enter_votes=1, exit_after_s=2.0, still_exit_after_s=30.0, still_recheck_s=10.0)
    c.due(0.0, True)
    c.look(0.0, 1)
    _, changes = missing_everyone(c, 50.0, moving=False)
    assert [x.people for x in changes] == [0]
    assert 30.0 <= changes[0].t <= 40.0


def test_a_count_with_no_support_decays_even_without_motion() -> None:
    c = PeopleCounter(enter_votes=1, exit_after_s=2.0, recheck_s=1.0, still_exit_after_s=10.0)
    assert c.due(0.0, False)  # the first frame is always looked at
    c.look(0.0, 1)  # a stray detection with nothing moving anywhere
    changes = []
    for step in range(1, 30):
        t = step * 0.5
        if c.due(t, False):
            change = c.look(t, 0)
            if change is not None:
                changes.append(change)
    # At the first look once still_exit_after_s has passed (looks come every recheck_s while in doubt).
    assert [x.people for x in changes] == [0]
    assert 10.0 <= changes[0].t <= 11.0


def test_someone_leaving_is_an_exit_after_exit_after_s() -> None:
    c = PeopleCounter(enter_votes=2, exit_after_s=2.0)
    for t, seen in [(0.0, 2), (0.5, 2), (1.0, 2)]:
        c.due(t, True)
        c.look(t, seen)
    assert c.count == 2
    changes = []
    for step in range(3, 12):
        t = step * 0.5
        c.due(t, step < 6)  # walking out, then nothing moves
        change = c.look(t, 1)
        if change is not None:
            changes.append(change)
    assert [(x.t, x.was, x.people) for x in changes] == [(3.0, 2, 1)]


def test_enter_votes_must_fit_the_window() -> None:
    with pytest.raises(ValueError, match="enter_votes"):
        PeopleCounter(enter_votes=4)


# --- sources ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "target"),
    [
        ("rtsp://viewer:secret@192.0.2.10:554/stream1", "rtsp", "rtsp://viewer:secret@192.0.2.10:554/stream1"),
        ("/dev/video0", "usb", "/dev/video0"),
        ("usb:Generated_Test_Camera_0001", "usb", "Generated_Test_Camera_0001"),
        ("file:replays/vault.mp4", "file", "replays/vault.mp4"),
        ("/srv/replays/vault.gif", "file", "/srv/replays/vault.gif"),
        ("synthetic", "synthetic", "0"),
        ("synthetic:42", "synthetic", "42"),
    ],
)
def test_sources_parse(text: str, kind: str, target: str) -> None:
    spec = parse_source(text)
    assert (spec.kind, spec.target) == (kind, target)
    assert "secret" not in spec.describe()


@pytest.mark.parametrize("text", ["", "http://cam/stream", "rtsp:///nohost", "synthetic:x", "usb:", "file:"])
def test_bad_sources_are_refused(text: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011  # each case has its own message
        parse_source(text)


def test_redact_hides_credentials_only() -> None:
    assert redact("rtsp://u:p@cam:8554/x?a=1") == "rtsp://***@cam:8554/x?a=1"
    assert redact("rtsp://cam/x") == "rtsp://cam/x"


def _camera_problem(**keys: object) -> Problem:
    with pytest.raises(msgspec.ValidationError) as caught:
        convert({"driver": "camera", "id": "cam1", **keys}, CameraConfig)
    return problem(caught.value, "devices[0]")


def test_camera_config_is_strict() -> None:
    config = convert({"driver": "camera", "id": "cam1", "source": "synthetic", "fps": 2}, CameraConfig)
    assert config.fps == 2.0
    assert config.analysis().hog_width == 320
    assert _camera_problem(source="synthetic", fpx=2) == Problem("devices[0].fpx", "unknown key", "unknown")
    assert _camera_problem(source="http://cam/x").reason == "unsupported URL scheme in 'http://cam/x' (rtsp:// only)"
    assert _camera_problem(source="synthetic", reconnect_min_s=10, reconnect_max_s=5) == Problem(
        "devices[0]", "reconnect_min_s (10) must not exceed reconnect_max_s (5)", "invalid"
    )
    assert _camera_problem(source="synthetic", frozen_after_s=1) == Problem(  # must be well over 2 s
        "devices[0].frozen_after_s", "expected float >= 2.5", "invalid"
    )
    assert _camera_problem(source="synthetic", fps="2").path == "devices[0].fps"  # strict: no "2" for 2
    # The cross-key checks hold for a config built in code too.
    with pytest.raises(ValueError, match="rtsp:// only"):
        CameraConfig(id="cam1", source="http://cam/x")


# --- image measures -----------------------------------------------------------------------------------


def test_sharpness_ignores_the_light_but_not_blur(empty_room: list[Frame]) -> None:
    size = image.fit(768, 432, 320, 240)
    assert size == (320, 180)
    frame = empty_room[10]
    sharp = image.sharpness(image.grey_small(frame, size))
    dim = image.sharpness(image.grey_small(tamper.light(frame, 0.5), size))
    blurred = image.sharpness(image.grey_small(tamper.blur(frame, 2.0), size))
    assert abs(dim / sharp - 1.0) < 0.1
    assert blurred / sharp < 0.3


def test_the_picture_tells_the_empty_room_from_one_with_someone_in_it(
    room_baseline: Baseline, empty_room: list[Frame], room_with_person: list[Frame]
) -> None:
    reference_mean = image.cells(room_baseline.reference)[1]

    def share(frame: Frame) -> float | None:
        return image.changed_share(image.cells(image.grey_small(frame, room_baseline.size))[1], reference_mean)

    assert all((v := share(f)) is not None and v < 0.1 for f in empty_room)
    # The light dimmed or raised is still the empty room; beyond twice either way it cannot tell.
    assert all(
        (v := share(tamper.light(f, gain))) is not None and v < 0.1 for f in empty_room[::6] for gain in (0.6, 1.4)
    )
    assert share(tamper.light(empty_room[0], 0.3)) is None
    expected = truth(ONE_BY_ONE)
    # room_with_person is every 5th frame from frame 60 on.
    with_person = [f for k, f in enumerate(room_with_person) if expected[60 + 5 * k] == 1]
    shown = [share(f) for f in with_person]
    assert len(shown) >= 20
    assert sum(1 for v in shown if v is not None and v >= 0.1) >= 0.9 * len(shown), shown


def test_changed_pixels_ignore_sensor_noise_but_not_a_turned_camera(
    room_baseline: Baseline, empty_room: list[Frame]
) -> None:
    greys = [image.grey_small(f, room_baseline.size) for f in empty_room]
    assert max(image.changed_pixels(g, greys[0]) for g in greys) < 0.005  # 30 s of the room apart
    turned = image.grey_small(tamper.rotate(empty_room[0], 0.5), room_baseline.size)
    assert image.changed_pixels(turned, greys[0]) > 0.03
    shifted = image.grey_small(tamper.shift(empty_room[0], 0.005), room_baseline.size)
    assert image.changed_pixels(shifted, greys[0]) > 0.05


def test_alignment_reads_shift_and_rotation(room_baseline: Baseline, empty_room: list[Frame]) -> None:
    matcher = ReferenceMatcher(room_baseline.reference)
    size = room_baseline.size
    still = matcher.align(image.grey_small(empty_room[20], size))
    assert still.shift_px < 0.5
    assert abs(still.rotation_deg) < 0.2
    moved = matcher.align(image.grey_small(tamper.shift(empty_room[20], 0.05), size))
    assert moved.dx == pytest.approx(-16.0, abs=1.0)
    turned = matcher.align(image.grey_small(tamper.rotate(empty_room[20], 5.0), size))
    assert turned.rotation_deg == pytest.approx(-5.0, abs=0.3)


def test_featureless_view_falls_back_to_phase_correlation() -> None:
    rng = np.random.default_rng(1)
    wall = np.full((180, 320), 120, np.uint8)
    wall[60:120, 100:220] = 90  # one soft panel: too few corners for ORB
    wall = np.clip(wall + rng.normal(0, 1, wall.shape), 0, 255).astype(np.uint8)
    matcher = ReferenceMatcher(wall)
    assert not matcher.featureful
    shifted = np.roll(wall, 12, axis=1)
    reference_before = wall.copy()
    aligned = matcher.align(shifted)
    assert aligned.match_share is None
    assert aligned.dx == pytest.approx(12.0, abs=1.0)
    assert np.array_equal(wall, reference_before), "phaseCorrelate changed its input"


def test_a_baseline_needs_enough_frames_of_one_size() -> None:
    frame = np.zeros((180, 320), np.uint8)
    with pytest.raises(BaselineError, match="at least"):
        make_baseline([frame] * 3)
    with pytest.raises(BaselineError, match="sizes"):
        make_baseline([frame] * 4 + [np.zeros((90, 160), np.uint8)])


# --- files and snapshots ----------------------------------------------------------------------------


def test_baseline_files_round_trip(tmp_path: Path, room_baseline: Baseline) -> None:
    files = baseline_store.baseline_files(tmp_path, "baselines", "vault-cam-1")
    assert baseline_store.load(files) is None
    baseline_store.save(files, room_baseline, captured_at=datetime(2026, 6, 6, tzinfo=UTC), source="file:x")
    loaded = baseline_store.load(files)
    assert loaded is not None
    assert np.array_equal(loaded.reference, room_baseline.reference)
    assert loaded.sharpness == room_baseline.sharpness
    assert np.allclose(loaded.cell_std, room_baseline.cell_std, atol=1e-3)
    assert sorted(p.name for p in files.folder.iterdir()) == ["vault-cam-1.baseline.json", "vault-cam-1.reference.png"]


def test_a_broken_baseline_is_an_error_not_silence(tmp_path: Path, room_baseline: Baseline) -> None:
    files = baseline_store.baseline_files(tmp_path, str(tmp_path / "b"), "cam")
    baseline_store.save(files, room_baseline, captured_at=datetime(2026, 6, 6, tzinfo=UTC), source="x")
    data = json.loads(files.numbers.read_text())
    data["width"] = 100
    files.numbers.write_text(json.dumps(data))
    with pytest.raises(BaselineFileError, match="reference is 320×180"):
        baseline_store.load(files)
    files.reference.unlink()
    with pytest.raises(BaselineFileError, match="incomplete"):
        baseline_store.load(files)


def test_snapshots_stay_within_their_budget() -> None:
    # Noise is the worst case for JPEG: a full-HD frame of it.
    noisy = np.random.default_rng(0).integers(0, 256, (1080, 1920, 3), dtype=np.uint8)
    snap = encode(noisy, 640, 60_000)
    assert snap is not None
    assert snap.size <= 60_000
    assert snap.jpeg[:2] == b"\xff\xd8"
    store = SnapshotStore(capacity=2)
    assert store.latest_sha256() == ""
    store.add(snap)
    assert store.latest_sha256() == snap.sha256
    assert store.take(snap.sha256) is snap
    assert store.take(snap.sha256) is None
    assert store.latest_sha256() == snap.sha256, "the state still names the newest picture once it is sent"


def test_snapshots_not_taken_age_out_beyond_the_capacity() -> None:
    frames = [np.full((90, 160, 3), value, dtype=np.uint8) for value in (10, 80, 150)]
    snaps = [encode(frame, 640, 60_000) for frame in frames]
    store = SnapshotStore(capacity=2)
    for snap in snaps:
        assert snap is not None
        store.add(snap)
    first, second, third = (s.sha256 for s in snaps if s is not None)
    assert store.take(first) is None, "the oldest aged out"
    assert [store.take(second), store.take(third)] == snaps[1:]
    assert [store.take(second), store.take(third)] == [None, None], "taken once, then gone"


# --- reporting --------------------------------------------------------------------------------------


def _analysis(**overrides: object) -> Analysis:
    values: dict[str, object] = {
        "t": 1.0,
        "people": 1,
        "motion": True,
        "motion_share": 0.02,
        "seen": 1,
        "problems": (),
        "metrics": HealthMetrics(brightness=131.0, sharpness_ratio=1.02, shift_px=0.2, rotation_deg=0.0),
        "tamper_checks": True,
    }
    values.update(overrides)
    return Analysis(**values)  # type: ignore[arg-type]


GRABBING = GrabberStatus(connected=True, error="", opens=1, abandoned=0)


def test_status_follows_the_worst_problem() -> None:
    assert report.status_of(None) == "unknown"
    assert report.status_of(_analysis()) == "ok"
    assert report.status_of(_analysis(problems=("defocused",))) == "warning"
    assert report.status_of(_analysis(problems=("defocused", "covered"))) == "fault"
    assert report.status_of(_analysis(tamper_checks=False)) == "warning"
    # Changes the agent lost make a healthy camera a warning, never hide a fault.
    assert report.status_of(_analysis(), events_dropped=3) == "warning"
    assert report.status_of(None, events_dropped=3) == "warning"
    assert report.status_of(_analysis(problems=("covered",)), events_dropped=3) == "fault"


def test_details_say_why_tamper_checks_are_off() -> None:
    info = report.details(
        "cam1", "rtsp", _analysis(tamper_checks=False), grabber=GRABBING, steady=report.Steady(), latest_snapshot=""
    )
    assert info["tamper_checks"] is False
    assert "commission-camera" in str(info["tamper_checks_off"])
    assert all(isinstance(v, str | int | float | bool) or v is None for v in info.values())


def test_measures_move_in_steps_so_states_do_not_churn() -> None:
    steady = report.Steady()
    seen = set()
    for ratio in (1.02, 0.98, 1.04, 0.97, 1.01):
        metrics = HealthMetrics(brightness=130.0 + ratio, sharpness_ratio=ratio, shift_px=0.1, rotation_deg=0.0)
        info = report.details(
            "c", "file", _analysis(metrics=metrics), grabber=GRABBING, steady=steady, latest_snapshot=""
        )
        seen.add((info["sharpness_ratio"], info["brightness"]))
    assert seen == {(1.0, 128.0)}


def test_events_carry_a_snapshot_reference_never_the_picture(empty_room: list[Frame]) -> None:
    snap = encode(empty_room[0], 640, 60_000)
    assert snap is not None
    now = datetime(2026, 6, 6, 8, 0, 10, tzinfo=UTC)
    entry = report.driver_event(WorkerEvent(95.0, OccupancyChange(95.0, 1, 0), snap), now, 100.0)
    assert entry.name == "vault.entry"
    assert entry.at == datetime(2026, 6, 6, 8, 0, 5, tzinfo=UTC)
    assert entry.details["snapshot"] == snap.sha256
    assert entry.details["snapshot_bytes"] == snap.size
    assert all(not isinstance(v, bytes) and len(str(v)) <= 200 for v in entry.details.values())
    tamper = report.driver_event(WorkerEvent(99.0, HealthChange("covered", True, 99.0, 96.0, "dark")), now, 100.0)
    assert (tamper.name, tamper.severity, tamper.details["problem"], tamper.details["after_s"]) == (
        "camera.tamper",
        "critical",
        "covered",
        3.0,
    )
    lost = report.driver_event(WorkerEvent(99.0, HealthChange("signal_lost", True, 99.0, 94.0)), now, 100.0)
    assert (lost.name, lost.severity) == ("camera.signal_lost", "critical")
    back = report.driver_event(WorkerEvent(99.0, HealthChange("moved", False, 99.0, 96.0)), now, 100.0)
    assert (back.name, back.severity) == ("camera.recovered", "info")
