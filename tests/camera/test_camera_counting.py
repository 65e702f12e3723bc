"""People counting on the real footage, through the same analyser the driver runs.

Tolerances, from what the footage README measured and why:

- one-by-one room (one person at a time, six visits): single-frame HOG at 320 px + 25% border is exactly
  right on 81% of person frames and never counts more than one.  Smoothing adds a lag of about a second
  at each of the twelve changes, so we ask for ≥ 75% exact on all non-null frames (measured 90% at the
  agent's 2 fps), never more than one, exactly six entries and six exits, and no tamper alarm.
- empty room: no person, and no motion once the background model has learnt (its first five frames).
- two and three people walking: HOG alone sees 0-1 of them, so the face cascade is on for these cameras.
  Faces are too small to find until people come closer, so we ask that the count never exceeds the
  truth, reaches it, and — what the two-person rule depends on — never reads "one person" for longer
  than the rule's limit (8 s; these clips last 3 s).
- wide-angle empty room: a small person partly visible at a far door in frames 0-11 (the README: "1
  partly"), then nobody.  Zero people on the empty frames is required; 0 or 1 before.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest
from camera_footage import EMPTY, EMPTY_WIDE, ONE_BY_ONE, WALKING, WALKING_PAUSE, Frame, fps, frames, truth
from camera_timeline import ALONE_LIMIT_S, alone_alerts

from agent.drivers.camera.analysis.analyser import Analysis, CameraAnalyser, OccupancyChange
from agent.drivers.camera.analysis.baseline import Baseline
from agent.drivers.camera.analysis.people import Box, PeopleDetector, PeopleSeen, union, within
from agent.drivers.camera.analysis.settings import AnalysisSettings


@dataclass
class Run:
    counts: list[int] = field(default_factory=list)
    truth: list[int | None] = field(default_factory=list)
    analyses: list[Analysis] = field(default_factory=list)
    entries: int = 0
    exits: int = 0

    def exact_share(self) -> float:
        judged = [(c, t) for c, t in zip(self.counts, self.truth, strict=True) if t is not None]
        return sum(1 for c, t in judged if c == t) / len(judged)

    def longest_alone_s(self, period: float) -> float:
        longest = run = 0
        for count in self.counts:
            run = run + 1 if count == 1 else 0
            longest = max(longest, run)
        return longest * period


def analyse(
    name: str, settings: AnalysisSettings, *, step: int = 1, baseline: Baseline | None = None, colour: bool = False
) -> Run:
    analyser = CameraAnalyser(settings, baseline)
    expected = truth(name)
    period = 1.0 / fps(name)
    out = Run()
    for index, frame in frames(name, step, colour=colour):
        analysis, changes = analyser.frame(index * period, frame)
        out.counts.append(analysis.people)
        out.truth.append(expected[index])
        out.analyses.append(analysis)
        for change in changes:
            if isinstance(change, OccupancyChange):
                out.entries += change.people > change.was
                out.exits += change.people < change.was
    return out


# The room's camera as commissioned: nobody in it is shorter than 0.7 of the frame (the footage's smallest
# whole person is 0.78), so HOG skips the finest pyramid levels and short motion is not yet a person.
COMMISSIONED = AnalysisSettings(person_min_height=0.7)


@pytest.mark.parametrize(
    ("colour", "commissioned", "smallest_range"),
    [(False, False, (0.58, 0.85)), (False, True, (0.72, 0.85)), (True, False, (0.72, 0.85))],
    ids=["default", "person_min_height", "colour"],
)
def test_one_by_one_room_counts_each_visit_and_never_two(
    request: pytest.FixtureRequest,
    settings: AnalysisSettings,
    colour: bool,
    commissioned: bool,
    smallest_range: tuple[float, float],
) -> None:
    baseline: Baseline = request.getfixturevalue("room_baseline_colour" if colour else "room_baseline")
    # Every 5th frame of a 10 fps clip: the 2 fps the driver analyses at.
    run = analyse(ONE_BY_ONE, COMMISSIONED if commissioned else settings, step=5, baseline=baseline, colour=colour)
    share = run.exact_share()
    assert share >= 0.75, f"exact on {share:.0%} of frames"
    assert max(run.counts) == 1
    assert (run.entries, run.exits) == (6, 6)
    assert not any(a.problems for a in run.analyses), "a tamper alarm on untouched footage"
    assert all(a.tamper_checks for a in run.analyses)
    # The README: six visits, one person each time — six breaches of the two-person rule, each raised once.
    assert alone_alerts(run.counts, period=0.5) == 6
    # What the camera tells the technician for person_min_height: the smallest person it counted (HOG's
    # windows of 1.04-1.31 of the frame's height hold people of 0.78-0.98), above the 0.7 commissioned.  In
    # grey, one look (frame 530) finds the person in a window from the shoulders down: 0.60 of the frame,
    # below the 0.7 the room was commissioned with, which only makes the advice err on the safe side.
    smallest = run.analyses[-1].smallest_person
    assert smallest is not None
    assert smallest_range[0] <= smallest <= smallest_range[1], smallest


def test_empty_room_gives_no_person_and_no_motion(settings: AnalysisSettings, room_baseline: Baseline) -> None:
    run = analyse(EMPTY, settings, baseline=room_baseline)
    assert set(run.counts) == {0}
    assert (run.entries, run.exits) == (0, 0)
    assert run.analyses[-1].smallest_person is None
    learnt = run.analyses[settings.motion_warmup_frames :]
    assert all(a.motion is False for a in learnt), [a.motion_share for a in learnt if a.motion]
    assert not any(a.problems for a in run.analyses)


# The corridor cameras of the GIFs, tuned as the README says one must: faces on, sized for the mount.
CORRIDOR = AnalysisSettings(faces=True, face_width=480, face_min_neighbors=3, face_max_size=0.2)


def test_two_people_walking_are_never_one_person_for_long() -> None:
    run = analyse(WALKING, CORRIDOR)
    assert max(run.counts) == 2
    assert run.counts[-10:] == [2] * 10
    assert run.longest_alone_s(1.0 / fps(WALKING)) < ALONE_LIMIT_S
    assert alone_alerts(run.counts, period=1.0 / fps(WALKING)) == 0


def test_three_people_pausing_are_counted() -> None:
    # Closer to this camera: faces up to 30% of the frame height.
    run = analyse(WALKING_PAUSE, replace(CORRIDOR, face_max_size=0.3))
    share = run.exact_share()
    assert max(run.counts) == 3
    assert share >= 0.6, f"exact on {share:.0%} of frames"
    assert 1 not in run.counts[5:]


def test_wide_room_is_empty_once_the_person_has_gone() -> None:
    # Far-away people: no shrinking, no border (the one-by-one room's setting would hallucinate here).
    run = analyse(EMPTY_WIDE, AnalysisSettings(hog_width=480, hog_border=0.0))
    assert run.counts[12:] == [0] * (len(run.counts) - 12)
    assert max(run.counts[:12]) <= 1


# --- where HOG looks ---------------------------------------------------------------------------------


def test_hog_in_a_region_finds_the_person_there_and_nobody_elsewhere(room_with_person: list[Frame]) -> None:
    detector = PeopleDetector(AnalysisSettings())
    seen = [(frame, detector.detect(frame)) for frame in room_with_person]
    located = [(frame, union(found.boxes)) for frame, found in seen if found.count == 1]
    assert len(located) >= 15
    # Where the whole frame showed someone, the region around them shows them too.
    again = [detector.detect(frame, box).count for frame, box in located if box is not None]
    assert sum(again) >= 0.9 * len(located), again
    # The person stands right of the middle (x 0.4-0.8): a strip at the left edge holds nobody.
    assert all(found.boxes[0][0] > 0.3 for _, found in seen if found.count == 1)
    assert not any(detector.detect(frame, (0.0, 0.0, 0.05, 1.0)).count for frame, _ in located)


def test_hog_for_a_known_size_finds_that_person_and_not_smaller_ones(room_with_person: list[Frame]) -> None:
    detector = PeopleDetector(AnalysisSettings())
    located = [union(found.boxes) for found in map(detector.detect, room_with_person) if found.count == 1]
    heights = [box[3] - box[1] for box in located if box is not None]
    assert len(heights) >= 15
    frames_with = [frame for frame in room_with_person if detector.detect(frame).count == 1]
    # Looking only for people at least as tall as the shortest seen finds them again...
    again = [detector.detect(frame, None, min(heights)).count for frame in frames_with]
    assert sum(again) >= 0.9 * len(frames_with), again
    # ...and looking for people twice as tall as anyone there finds nobody.
    assert not any(detector.detect(frame, None, 2 * max(heights)).count for frame in frames_with)


class Recording(PeopleDetector):
    """The real detector, noting where it was asked to look and what it found."""

    def __init__(self, settings: AnalysisSettings) -> None:
        super().__init__(settings)
        self.regions: list[Box | None] = []
        self.smallest: list[float | None] = []
        self.found: list[tuple[Box, ...]] = []

    def detect(self, frame: Frame, region: Box | None = None, smallest: float | None = None) -> PeopleSeen:
        self.regions.append(region)
        self.smallest.append(smallest)
        seen = super().detect(frame, region, smallest)
        self.found.append(seen.boxes)
        return seen


def test_after_a_miss_the_analyser_looks_where_the_person_was_last_seen(room_baseline: Baseline) -> None:
    detector = Recording(AnalysisSettings())
    analyser = CameraAnalyser(AnalysisSettings(), room_baseline, detector)
    seen: list[tuple[int, int]] = []
    for index, frame in frames(ONE_BY_ONE, step=5, stop=1000):
        analysis, _ = analyser.frame(index / 10.0, frame)
        if analysis.seen is not None:
            seen.append((analysis.seen, analysis.people))
    assert len(seen) == len(detector.regions)
    # Most looks scan only a region, and some search only for the person already seen.
    assert sum(1 for r in detector.regions if r is not None) >= 0.5 * len(seen)
    assert any(smallest is not None for smallest in detector.smallest)
    # A look that saw fewer than counted is followed by one that covers where they were all last seen
    # (and whatever moved since): a missed person is still there or went where something moved.
    checked = 0
    for k in range(len(seen) - 1):
        if seen[k][0] >= seen[k][1]:
            continue
        last = next((j for j in range(k, -1, -1) if seen[j][0] >= seen[j][1] and detector.found[j]), None)
        region = detector.regions[k + 1]
        if last is None or region is None:
            continue
        where = union(detector.found[last])
        assert where is not None
        assert within(where, region), (k, where, region)
        checked += 1
    assert checked >= 3
