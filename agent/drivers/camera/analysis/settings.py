"""The analyser's tuning, as plain data: the driver's config maps onto it, tests build it directly.

Defaults come from measurements on real footage (``../shared/footage/README.md``) at 320×180 analysis size:
normal frames stay within 15% of their sharpness baseline and 0.4 px of their reference position, a
Gaussian blur of σ 2 cuts sharpness to 0.17×, a 2% shift is 6 px and a 2° turn is read as 2°.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class AnalysisSettings:
    # The grey frame for motion and health checks fits inside this box (aspect kept).
    width: int = 320
    height: int = 240

    # How long a condition must hold before it is reported, and be gone before it is cleared.
    signal_lost_after_s: float = 5.0
    frozen_after_s: float = 5.0
    covered_after_s: float = 3.0
    defocused_after_s: float = 5.0
    moved_after_s: float = 6.0
    clear_after_s: float = 3.0

    # Share of the reference's textured cells gone flat that counts as a covered lens.
    covered_fraction: float = 0.3
    # Sharpness (contrast-normalised Laplacian variance) below this share of the rolling baseline.
    defocus_ratio: float = 0.5
    # Shift in analysis pixels, rotation in degrees, and the share of reference features still found.
    moved_px: float = 4.0
    moved_deg: float = 1.0
    moved_scale: float = 0.04
    scene_match_min: float = 0.1
    moved_check_s: float = 2.0
    # Samples of sharpness kept for the rolling baseline (at 2 fps, 240 is two minutes).
    sharpness_window: int = 240

    # Motion: share of the analysis frame in the foreground.
    motion_fraction: float = 0.005
    motion_warmup_frames: int = 5

    # People: HOG on the colour frame resized to hog_width with a replicated border (share of its height).
    hog_width: int = 320
    hog_border: float = 0.25
    hog_min_score: float = 0.5
    # HOG's pyramid step, window stride and padding (pixels of the resized frame).  No padding: the
    # replicated border already lets the window reach the edges, and on the footage padding 8 counted exactly
    # the same for 17% more CPU; a step of 1.07 instead of 1.05 saves a third but misses people.
    hog_scale: float = 1.05
    hog_stride: int = 8
    hog_padding: int = 0
    # The height (share of the frame's) of the smallest person this camera can show: someone standing at the
    # far end of its view, measured at commissioning.  HOG then skips the pyramid levels for anyone smaller,
    # which are the largest and cost the most.  0: no bound.
    person_min_height: float = 0.0
    # Optional frontal-face cascade at face_width; faces larger than face_max_size of the height are ignored.
    faces: bool = False
    face_width: int = 480
    face_min_neighbors: int = 5
    face_max_size: float = 0.2
    # How often the detectors look: while the count is in doubt and nothing moves (a still person is absorbed
    # by MOG2); while it is settled, with and without motion; and how long a new count stays in doubt.
    recheck_s: float = 1.0
    settled_recheck_s: float = 6.0
    still_recheck_s: float = 10.0
    settle_s: float = 1.0
    # A higher count needs this many of the last three looks; a lower one, no look above it for exit_after_s
    # with motion meanwhile (nobody leaves without moving), or for still_exit_after_s without.
    enter_votes: int = 2
    exit_after_s: float = 2.0
    still_exit_after_s: float = 30.0
