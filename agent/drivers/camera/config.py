"""The ``driver = "camera"`` entry of an agent config: source, pace, timeouts and per-camera tuning.

Example (every key but ``id`` and ``source`` has the default shown or is optional)::

    [[devices]]
    driver = "camera"
    id = "vault-cam-1"
    room = "vault"
    source = "rtsp://viewer:secret@192.0.2.10/stream1"
    fps = 2.0
    colour = false
    hog_width = 320        # per camera: shrink for people who fill the frame, enlarge for far ones
    hog_border = 0.25
    person_min_height = 0.0  # per camera: a little below the smallest_person the camera reports once people
                             # have walked its whole view; HOG then skips smaller sizes
    faces = false
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

from agent.drivers.base import DeviceConfig
from agent.drivers.camera.analysis.settings import AnalysisSettings
from agent.drivers.camera.source import SourceSpec, parse_source

Seconds = Annotated[float, Meta(gt=0, le=3600)]
Share = Annotated[float, Meta(gt=0, lt=1)]


class CameraConfig(DeviceConfig, frozen=True, kw_only=True):
    driver: Literal["camera"] = "camera"
    source: Annotated[str, Meta(min_length=1, max_length=1024)]
    # Frames analysed per second; the grab thread still drains every frame the camera sends.
    fps: Annotated[float, Meta(ge=0.2, le=10)] = 2.0
    # File sources: start again at the end instead of going silent (replays, the demo).
    loop: bool = False
    # RTSP and file sources decoded to colour: colour snapshots, and an encoder's blue "no video" screen told
    # from a dark cover, for 1.2-1.4 MB more a camera.  Off, the decoder's grey plane is analysed and
    # snapshotted (see capture.py).  USB cameras are always read in colour.
    colour: bool = False
    # The analysis frame fits in this box (≤ 320×240: motion and tamper checks are cheap there).
    analysis_width: Annotated[int, Meta(ge=80, le=320)] = 320
    analysis_height: Annotated[int, Meta(ge=60, le=240)] = 240

    open_timeout_s: Annotated[float, Meta(ge=0.5, le=60)] = 5.0
    read_timeout_s: Annotated[float, Meta(ge=0.5, le=60)] = 3.0
    reconnect_min_s: Annotated[float, Meta(ge=0.1, le=60)] = 1.0
    reconnect_max_s: Annotated[float, Meta(ge=0.1, le=600)] = 30.0

    signal_lost_after_s: Seconds = 5.0
    frozen_after_s: Annotated[float, Meta(ge=2.5, le=3600)] = 5.0
    covered_after_s: Seconds = 3.0
    defocused_after_s: Seconds = 5.0
    moved_after_s: Seconds = 6.0
    clear_after_s: Seconds = 3.0

    covered_fraction: Share = 0.3
    defocus_ratio: Share = 0.5
    moved_px: Annotated[float, Meta(gt=0, le=100)] = 4.0
    moved_deg: Annotated[float, Meta(gt=0, le=45)] = 1.0
    scene_match_min: Share = 0.1
    moved_check_s: Annotated[float, Meta(ge=0.5, le=600)] = 2.0

    motion_fraction: Share = 0.005
    hog_width: Annotated[int, Meta(ge=64, le=1920)] = 320
    hog_border: Annotated[float, Meta(ge=0, le=1)] = 0.25
    hog_min_score: Annotated[float, Meta(ge=0, le=5)] = 0.5
    person_min_height: Annotated[float, Meta(ge=0, le=1)] = 0.0
    faces: bool = False
    face_width: Annotated[int, Meta(ge=64, le=1920)] = 480
    face_min_neighbors: Annotated[int, Meta(ge=1, le=20)] = 5
    face_max_size: Share = 0.2
    people_recheck_s: Annotated[float, Meta(ge=0.1, le=60)] = 1.0
    people_settled_recheck_s: Annotated[float, Meta(ge=0.1, le=600)] = 6.0
    people_still_recheck_s: Annotated[float, Meta(ge=0.1, le=600)] = 10.0
    people_settle_s: Annotated[float, Meta(ge=0, le=600)] = 1.0
    people_enter_votes: Annotated[int, Meta(ge=1, le=3)] = 2
    people_exit_after_s: Annotated[float, Meta(ge=0, le=600)] = 2.0
    people_still_exit_after_s: Annotated[float, Meta(ge=1, le=3600)] = 30.0

    snapshot_width: Annotated[int, Meta(ge=64, le=1920)] = 640
    snapshot_max_bytes: Annotated[int, Meta(ge=4_000, le=60_000)] = 60_000
    # The commissioning files (reference view, baseline); relative to the config file's folder.
    baseline_dir: Annotated[str, Meta(min_length=1, max_length=1024)] = "camera-baselines"

    def __post_init__(self) -> None:
        # parse_source's ValueError is the reason the operator reads, at this device's path.
        parse_source(self.source)
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError(
                f"reconnect_min_s ({self.reconnect_min_s:g}) must not exceed reconnect_max_s ({self.reconnect_max_s:g})"
            )

    @property
    def source_spec(self) -> SourceSpec:
        return parse_source(self.source)

    def analysis(self) -> AnalysisSettings:
        return AnalysisSettings(
            width=self.analysis_width,
            height=self.analysis_height,
            signal_lost_after_s=self.signal_lost_after_s,
            frozen_after_s=self.frozen_after_s,
            covered_after_s=self.covered_after_s,
            defocused_after_s=self.defocused_after_s,
            moved_after_s=self.moved_after_s,
            clear_after_s=self.clear_after_s,
            covered_fraction=self.covered_fraction,
            defocus_ratio=self.defocus_ratio,
            moved_px=self.moved_px,
            moved_deg=self.moved_deg,
            scene_match_min=self.scene_match_min,
            moved_check_s=self.moved_check_s,
            motion_fraction=self.motion_fraction,
            hog_width=self.hog_width,
            hog_border=self.hog_border,
            hog_min_score=self.hog_min_score,
            person_min_height=self.person_min_height,
            faces=self.faces,
            face_width=self.face_width,
            face_min_neighbors=self.face_min_neighbors,
            face_max_size=self.face_max_size,
            recheck_s=self.people_recheck_s,
            settled_recheck_s=self.people_settled_recheck_s,
            still_recheck_s=self.people_still_recheck_s,
            settle_s=self.people_settle_s,
            enter_votes=self.people_enter_votes,
            exit_after_s=self.people_exit_after_s,
            still_exit_after_s=self.people_still_exit_after_s,
        )
