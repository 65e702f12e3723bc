"""Benchmark: CPU per vault camera, the agent's memory with four cameras, and people-counting accuracy.

    .venv/bin/python bench/camera.py [--out bench/results/camera.json]

Needs the footage in ``../shared/footage`` beside the repository.  Measured in one run, on this machine:

* CPU per camera: the analyser at 2 fps (320×180 grey for motion and tamper checks; HOG only when motion
  may have changed the count, around where people were and something moved, at their size when nothing
  moved beyond them; the reference alignment every 2 s only when the picture changed since the frame it
  last measured) on decoded frames of the one-by-one room — busy: a person comes and goes, six visits in
  140 s; idle: the empty room, the vault's usual state.  The camera is set up as commissioned for that
  room (``person_min_height`` 0.7: nobody in it is shorter); ``busy_unbounded`` is the same camera without
  that bound.  Against it, the *raw cost*: the same OpenCV and numpy calls on the same frames in a bare
  loop (HOG and the alignment on exactly the frames, and HOG over exactly the columns and levels, the
  analyser ran them on), so the ratio is what our structure adds.  Decoding is reported apart: it depends
  on the camera's stream, not on us (a 10 fps 768×432 H.264 stream here).
* Memory: the agent as a site runs it (``bench/live_agent.py``): ``sitewatch agent --config`` with four
  commissioned camera drivers (reference view and baseline files written as the commissioning command
  writes them, so the tamper checks run; the footage file, looped; one grab thread each, one analysis
  thread for all), connected over TLS with a client certificate to a real Mosquitto, its SQLite outbox on
  disk, no hub (so every message stays in the outbox, as in a hub outage).  Its RSS is sampled once a
  second for ``--memory-seconds`` (default 300: the busy clip loops twice) and the highest reading counts
  (the reading 8 s after start, this benchmark's figure until 2026-11-28, was 5-9 MB lower).  Against it,
  a child that only imports cv2 and numpy and decodes one frame; the issue's limit is 1.25× bare + 10 MB
  a camera.  Beside it, run at the same time: the same agent with one and two cameras (what the first
  camera maps once against what each further one costs), its anonymous and file-backed memory, and the
  camera drivers alone in a process of their own.
* Counting: mean absolute error of the people count per frame on each clip (ambiguous frames left out),
  with each clip's camera settings as in tests/camera/test_camera_counting.py.

Attribution: sample videos from intel-iot-devkit/sample-videos (Intel), CC BY 4.0.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FOOTAGE = (ROOT.parent / "shared" / "footage").resolve()

import common  # noqa: E402
import cv2  # noqa: E402
import live_agent  # noqa: E402
import numpy as np  # noqa: E402

from agent.drivers.camera import baseline_store  # noqa: E402
from agent.drivers.camera.analysis import image  # noqa: E402
from agent.drivers.camera.analysis.alignment import ReferenceMatcher  # noqa: E402
from agent.drivers.camera.analysis.analyser import CameraAnalyser  # noqa: E402
from agent.drivers.camera.analysis.baseline import Baseline, make_baseline  # noqa: E402
from agent.drivers.camera.analysis.people import Box, PeopleDetector, PeopleSeen  # noqa: E402
from agent.drivers.camera.analysis.settings import AnalysisSettings  # noqa: E402
from agent.drivers.camera.capture import open_file_once  # noqa: E402

FPS = 2.0
ONE_BY_ONE = "people/one-by-one-person-detection.mp4"
EMPTY = "empty/one-by-one_empty_f0000-0059.mp4"
CORRIDOR = AnalysisSettings(faces=True, face_width=480, face_min_neighbors=3, face_max_size=0.2)
# The one-by-one room's camera as commissioned: nobody in it can be shorter than 0.7 of the frame's height
# (the smallest person the footage shows, seen whole, is 0.78).  UNBOUNDED is the same camera without it.
ROOM = AnalysisSettings(person_min_height=0.7)
UNBOUNDED = AnalysisSettings()
CLIPS: dict[str, tuple[AnalysisSettings, int]] = {
    ONE_BY_ONE: (ROOM, 5),
    EMPTY: (ROOM, 1),
    "people/face-demographics-walking.gif": (CORRIDOR, 1),
    "people/face-demographics-walking-and-pause.gif": (replace(CORRIDOR, face_max_size=0.3), 1),
    "empty/people-detection.gif": (AnalysisSettings(hog_width=480, hog_border=0.0), 1),
}


def machine() -> dict[str, Any]:
    return {**common.machine(), "opencv": cv2.__version__}


def decode(name: str, step: int = 1, *, colour: bool = False) -> tuple[list[np.ndarray[Any, Any]], float]:
    """Every ``step``-th frame, and the CPU seconds per decoded frame (all frames are decoded); grey where the
    clip has a luma plane, as the driver reads it by default.

    Process time, not thread time: FFmpeg decodes in threads of its own."""
    capture = open_file_once(str(FOOTAGE / name), colour=colour)
    frames, index = [], 0
    started = time.process_time()
    while (frame := capture.read()) is not None:
        if index % step == 0:
            frames.append(frame)
        index += 1
    capture.close()
    return frames, (time.process_time() - started) / max(1, index)


def truth(name: str) -> list[int | None]:
    entry = json.loads((FOOTAGE / "ground_truth.json").read_text())[name]
    counts: list[int | None] = [None] * entry["frames"]
    for first, last, count in entry["segments"]:
        for i in range(first, last + 1):
            counts[i] = count
    return counts


def room_baseline(empty: list[np.ndarray[Any, Any]]) -> Baseline:
    return make_baseline([image.grey_small(f, (320, 180)) for f in empty[::6]])


# --- CPU ------------------------------------------------------------------------------------------


class _Recording(PeopleDetector):
    """The analyser's own detector, noting which frames it looked at and where, for the raw loop."""

    def __init__(self, settings: AnalysisSettings) -> None:
        super().__init__(settings)
        self.regions: list[Box | None] = []
        self.smallest: list[float | None] = []

    def detect(
        self, frame: np.ndarray[Any, Any], region: Box | None = None, smallest: float | None = None
    ) -> PeopleSeen:
        self.regions.append(region)
        self.smallest.append(smallest)
        return super().detect(frame, region, smallest)


# Per frame: whether the people detectors looked, where (None: the whole frame) and for whom (the smallest
# person's height; None: anyone), and whether the reference alignment ran.
Looks = list[tuple[bool, Box | None, float | None, bool]]


def pipeline(
    frames: list[np.ndarray[Any, Any]], baseline: Baseline, rounds: int, settings: AnalysisSettings
) -> tuple[float, Looks, int]:
    """CPU seconds per frame of the analyser, where it ran the people detectors, and frames fed."""
    looks: Looks = []
    spent, fed = 0.0, 0
    for _ in range(rounds):
        detector = _Recording(settings)
        analyser = CameraAnalyser(settings, baseline, detector)
        t = 0.0
        started = time.thread_time()
        for frame in frames:
            before, aligned = len(detector.regions), analyser.health.alignments
            analyser.frame(t, frame)
            looked = len(detector.regions) > before
            region, smallest = (detector.regions[-1], detector.smallest[-1]) if looked else (None, None)
            looks.append((looked, region, smallest, analyser.health.alignments > aligned))
            t += 1.0 / FPS
        spent += time.thread_time() - started
        fed += len(frames)
    return spent / fed, looks[: len(frames)], fed


def raw(
    frames: list[np.ndarray[Any, Any]], baseline: Baseline, looks: Looks, rounds: int, settings: AnalysisSettings
) -> float:
    """The same OpenCV and numpy calls without the analyser around them: CPU seconds per frame."""
    size = baseline.size
    hog = PeopleDetector(settings)
    matcher = ReferenceMatcher(baseline.reference)
    reference_mean = image.cells(baseline.reference)[1]
    check_every = round(settings.moved_check_s * FPS)
    spent = 0.0
    half = (size[0] // 2, size[1] // 2)
    for _ in range(rounds):
        mog = cv2.createBackgroundSubtractorMOG2(history=500, varThreshold=16, detectShadows=False)
        mog.setNMixtures(3)
        previous = aligned_grey = None
        started = time.thread_time()
        for index, frame in enumerate(frames):
            grey = image.grey_small(frame, size)
            cv2.meanStdDev(grey)
            image.neighbour_correlation(grey)
            if previous is not None:
                np.array_equal(grey, previous)
            previous = grey
            _, mean = image.cells(grey)
            image.changed_share(mean, reference_mean)
            image.sharpness(grey)
            looked, region, smallest, aligned = looks[index]
            if index % check_every == 0 and aligned_grey is not None:
                image.changed_pixels(grey, aligned_grey)
            if aligned:
                matcher.align(grey)
                aligned_grey = grey
            small = cv2.resize(grey, half, interpolation=cv2.INTER_AREA)
            mask = image.opened(np.asarray(mog.apply(small), dtype=np.uint8))
            cv2.countNonZero(mask)
            cv2.boundingRect(mask)
            if looked:
                hog.detect(frame, region, smallest)
        spent += time.thread_time() - started
    return spent / (rounds * len(frames))


def cpu() -> dict[str, Any]:
    busy, decode_s = decode(ONE_BY_ONE, step=5)  # 2 fps out of the clip's 10
    empty, _ = decode(EMPTY)
    baseline = room_baseline(empty)
    idle = empty * 5  # 150 s of the empty room at 2 fps (no frame repeats within 30 s)
    out: dict[str, Any] = {}
    # busy and idle: the camera as commissioned; busy_unbounded: the same without its person_min_height.
    runs = (("busy", busy, ROOM), ("idle", idle, ROOM), ("busy_unbounded", busy, UNBOUNDED))
    for label, frames, settings in runs:
        # Warm both up once, then alternate them so neither gets the warmer caches or a quieter moment.
        _, looks, _ = pipeline(frames, baseline, 1, settings)
        raw(frames, baseline, looks, 1, settings)
        per_frame = bare = 0.0
        fed, rounds = 0, 3
        for _ in range(rounds):
            spent, looks, count = pipeline(frames, baseline, 1, settings)
            per_frame += spent / rounds
            bare += raw(frames, baseline, looks, 1, settings) / rounds
            fed += count
        looked = [region for did, region, _, _ in looks if did]
        sized = sum(1 for did, _, smallest, _ in looks if did and smallest is not None)
        aligned = sum(1 for *_, did in looks if did)
        out[label] = {
            "frames": fed,
            "detector_share": round(len(looked) / len(looks), 3),
            # Looks that scanned only around where people were and where something moved.
            "detector_region_share": round(sum(1 for r in looked if r is not None) / max(1, len(looked)), 3),
            # Looks that searched only for people of the size last seen (nothing moved beyond them).
            "detector_sized_share": round(sized / max(1, len(looked)), 3),
            # Frames on which the reference alignment ran (every 2 s, unless nothing in the picture changed).
            "alignment_share": round(aligned / len(looks), 3),
            "ms_per_frame": round(per_frame * 1000, 3),
            "cpu_pct_per_camera": round(per_frame * FPS * 100, 3),
            "raw_ms_per_frame": round(bare * 1000, 3),
            "raw_cpu_pct_per_camera": round(bare * FPS * 100, 3),
            "ratio_to_raw": round(per_frame / bare, 3),
        }
    out["decode_ms_per_frame"] = round(decode_s * 1000, 3)
    out["decode_cpu_pct_10fps"] = round(decode_s * 10 * 100, 2)
    return out


# --- memory ---------------------------------------------------------------------------------------

# The camera drivers alone, without the rest of the agent (no link, outbox or supervisor), for comparison
# with the agent run as on a site (bench/live_agent.py): the highest RSS sampled once a second.
CHILD_CAMERAS = """
import sys, time
from datetime import UTC, datetime
from pathlib import Path
sys.path.insert(0, {root!r})
from agent.drivers.camera.config import CameraConfig
from agent.drivers.camera.driver import CameraDriver
configs = [CameraConfig(id=f"cam{{i}}", source={source!r}, loop=True, person_min_height=0.7, baseline_dir={baselines!r})
           for i in range({cameras})]
drivers = [CameraDriver(config, base_dir=Path({baselines!r})) for config in configs]
for d in drivers:
    d.start()
end = time.monotonic() + {seconds}
peak = 0
while time.monotonic() < end:
    for d in drivers:
        d.poll(datetime.now(UTC))
        d.events()
    rss = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
    peak = max(peak, rss)
    time.sleep(1)
print(peak)
for d in drivers:
    d.close()
"""

# The baselines are by definition bare Python + OpenCV: they decode with cv2 directly, not through the agent.
CHILD_BARE = """
import cv2, numpy
from pathlib import Path
cap = cv2.VideoCapture({source!r}{params}); cap.read(); cap.release()
rss = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
print(rss)
"""

# What four cameras cost OpenCV alone: four threads, each decoding the stream (one FFmpeg thread, as the
# driver asks) and running HOG on every fifth frame; measured while all four are running.
CHILD_BARE_FOUR = """
import threading, time, cv2, numpy
from pathlib import Path
cv2.setNumThreads(1)
def camera():
    cap = cv2.VideoCapture({source!r}, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
    hog = cv2.HOGDescriptor()
    hog.setSVMDetector(cv2.HOGDescriptor.getDefaultPeopleDetector())
    end = time.monotonic() + {seconds}
    k = 0
    while time.monotonic() < end:
        ok, frame = cap.read()
        if not ok:
            cap.release()
            cap = cv2.VideoCapture({source!r}, cv2.CAP_FFMPEG, [cv2.CAP_PROP_N_THREADS, 1])
            continue
        if k % 5 == 0:
            small = cv2.copyMakeBorder(cv2.resize(frame, (320, 180)), 45, 45, 45, 45, cv2.BORDER_REPLICATE)
            hog.detectMultiScale(small, winStride=(8, 8), padding=(0, 0), scale=1.05)
        k += 1
        time.sleep(0.1)
    cap.release()
threads = [threading.Thread(target=camera) for _ in range(4)]
for t in threads:
    t.start()
time.sleep({seconds} - 1)
rss = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
for t in threads:
    t.join()
print(rss)
"""

CHILD_AGENT_IDLE = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
import cv2, numpy
import agent.cli, agent.drivers.camera.driver, agent.drivers.camera.worker, agent.drivers.camera.report
rss = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines() if l.startswith("VmRSS"))
print(rss)
"""


def child(code: str) -> float:
    """Run ``code``, which prints its RSS in KB; that RSS in MB."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return int(done.stdout.split()[0]) / 1024


def memory(baseline: Baseline, seconds: float) -> dict[str, Any]:
    source = str(FOOTAGE / ONE_BY_ONE)
    bare = child(CHILD_BARE.format(source=source, params=""))
    # The same bare process reading the decoder's grey plane as the agent does (for comparison only: the
    # limit is taken from OpenCV used as it comes).
    bare_grey = child(CHILD_BARE.format(source=source, params=", cv2.CAP_FFMPEG, [cv2.CAP_PROP_CONVERT_RGB, 0]"))
    bare_four = child(CHILD_BARE_FOUR.format(source=source, seconds=8.0))
    idle = child(CHILD_AGENT_IDLE.format(root=str(ROOT)))
    with tempfile.TemporaryDirectory() as folder:
        # The four cameras commissioned as on a site: each with its reference view and baseline files.
        for i in range(4):
            files = baseline_store.baseline_files(Path(folder), folder, f"cam{i}")
            baseline_store.save(files, baseline, captured_at=datetime.now(UTC), source="bench")
        code = CHILD_CAMERAS.format(root=str(ROOT), source=source, seconds=seconds, baselines=folder, cameras=4)
        with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as cameras_only:
            four, one, two = (s.summary() for s in live_agent.run([4, 1, 2], source, Path(folder), seconds))
            out, _ = cameras_only.communicate(timeout=seconds + 60)
        if cameras_only.returncode != 0:
            raise RuntimeError(f"camera drivers' child failed: {cameras_only.returncode}")
        cameras_only_mb = int(out.split()[0]) / 1024
    agent = four["rss_max_mb"]
    limit = 1.25 * bare + 10 * 4
    return {
        "measured_process": "`sitewatch agent --config` with four commissioned camera drivers (grey capture, the "
        "default; reference view and "
        "baseline files, tamper checks on, person_min_height 0.7) on the looped one-by-one file, connected over "
        "TLS with a client certificate to a real Mosquitto, SQLite outbox on disk, no hub (every message kept, as "
        f"in a hub outage); the highest RSS sampled once a second over {seconds:g} s",
        "seconds": seconds,
        "rss_mb": agent,
        "rss_median_second_half_mb": four["rss_median_second_half_mb"],
        # What a reading a few seconds after start shows (this benchmark's figure until 2026-11-28).
        "rss_at_8s_mb": four["rss_at_8s_mb"],
        "rss_mb_camera_drivers_only": round(cameras_only_mb, 1),
        "rss_bare_mb": round(bare, 1),
        "rss_limit_mb": round(limit, 1),
        "rss_bare_grey_mb": round(bare_grey, 1),
        "rss_limit_from_grey_bare_mb": round(1.25 * bare_grey + 10 * 4, 1),
        "rss_within_limit": agent <= limit,
        # Where it goes: the agent's imports with no camera, and OpenCV alone running four cameras' decoding
        # and HOG in four threads.
        "rss_agent_no_cameras_mb": round(idle, 1),
        "rss_bare_4_decoders_mb": round(bare_four, 1),
        "rss_per_camera_mb": round((agent - idle) / 4, 1),
        # The first camera brings what any process doing this work maps once (FFmpeg's and OpenCV's code for
        # decoding, HOG, ORB, MOG2 and JPEG; the analysis thread); each further one costs its own.
        "rss_1_camera_mb": one["rss_max_mb"],
        "rss_2_cameras_mb": two["rss_max_mb"],
        "rss_each_further_camera_mb": round((agent - one["rss_max_mb"]) / 3, 1),
        # Of the 4-camera agent at its highest: memory of its own (heap, stacks) and pages of shared files.
        "rss_anonymous_mb": four["anonymous_at_max_mb"],
        "rss_file_backed_mb": round(agent - four["anonymous_at_max_mb"], 1),
        "rss_bare_per_decoder_mb": round((bare_four - bare) / 3, 1),
        # All four cameras, each decoding a 10 fps 768×432 H.264 file and analysing 2 fps of it, with the
        # agent's link and outbox: the whole process's CPU over the run.
        "cpu_pct_4_cameras_with_decode": four["cpu_pct"],
    }


# --- accuracy -------------------------------------------------------------------------------------


def accuracy(baseline: Baseline, *, colour: bool = False) -> dict[str, Any]:
    per_clip: dict[str, dict[str, Any]] = {}
    total_error, total_frames = 0, 0
    for name, (settings, step) in CLIPS.items():
        expected = truth(name)
        frames, _ = decode(name, step, colour=colour)
        rate = json.loads((FOOTAGE / "ground_truth.json").read_text())[name]["fps"]
        analyser = CameraAnalyser(settings, baseline if name in (ONE_BY_ONE, EMPTY) else None)
        errors: list[int] = []
        for k, frame in enumerate(frames):
            index = k * step
            analysis, _ = analyser.frame(index / rate, frame)
            want = expected[index]
            if want is not None:
                errors.append(abs(analysis.people - want))
        per_clip[name] = {
            "frames": len(errors),
            "mae": round(sum(errors) / len(errors), 3),
            "exact_share": round(sum(1 for e in errors if e == 0) / len(errors), 3),
        }
        total_error += sum(errors)
        total_frames += len(errors)
    return {"count_mae": round(total_error / total_frames, 3), "per_clip": per_clip}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "camera.json")
    parser.add_argument(
        "--memory-seconds",
        type=float,
        default=300.0,
        help="how long the agents run for the memory figures (default 300: the busy clip loops twice)",
    )
    args = parser.parse_args()
    if not FOOTAGE.is_dir():
        print(f"no footage at {FOOTAGE}", file=sys.stderr)
        return 2
    cv2.setNumThreads(1)  # as the driver does
    timing = cpu()
    empty, _ = decode(EMPTY)
    counting = accuracy(room_baseline(empty))
    # The same with the cameras configured for colour (`colour = true`), its baseline made in colour too.
    empty_colour, _ = decode(EMPTY, colour=True)
    counting["count_mae_colour"] = accuracy(room_baseline(empty_colour), colour=True)["count_mae"]
    rss = memory(room_baseline(empty), args.memory_seconds)
    result = {
        "benchmark": "vault camera: CPU per camera at 2 fps, agent RSS with 4 cameras, people-count error",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "cpu_pct_per_camera": timing["busy"]["cpu_pct_per_camera"],
        "raw_cpu_pct_per_camera": timing["busy"]["raw_cpu_pct_per_camera"],
        "ratio_to_raw": timing["busy"]["ratio_to_raw"],
        "cpu": timing,
        "rss_mb": rss["rss_mb"],
        "memory": rss,
        "count_mae": counting["count_mae"],
        "counting": counting,
        "targets": {
            "cpu_pct_per_camera": 0.5,
            "ratio_to_raw": 2.0,
            "rss": "≤ 1.25 × bare Python+OpenCV + 10 MB per camera",
        },
        "attribution": "Sample videos from intel-iot-devkit/sample-videos (Intel), CC BY 4.0.",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    busy, idle = timing["busy"], timing["idle"]
    print(
        f"camera: {busy['cpu_pct_per_camera']}% of a core per camera busy ({busy['ratio_to_raw']}× raw), "
        f"{idle['cpu_pct_per_camera']}% idle ({idle['ratio_to_raw']}× raw); decode {timing['decode_cpu_pct_10fps']}% "
        f"at 10 fps; RSS 4 cameras {rss['rss_mb']} MB (bare {rss['rss_bare_mb']}, limit {rss['rss_limit_mb']}); "
        f"count MAE {counting['count_mae']} (colour {counting['count_mae_colour']}) — {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
