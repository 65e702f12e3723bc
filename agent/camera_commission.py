"""``sitewatch agent commission-camera --config FILE --camera NAME``: take a camera's reference view and
baseline (sharpness, brightness range, texture) and store them beside the config.

Run it with the vault empty, lit as during custody, and the camera where it belongs.  It watches the
camera for ``--seconds``, keeps ``--frames`` frames spread over that time, refuses a picture that is flat,
noise or shows people, and writes ``<baseline_dir>/<NAME>.reference.png`` and ``<NAME>.baseline.json``.
Exit status: 0 written, 1 the camera could not be read or the picture was refused, 2 bad config or name.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from agent.config import load_config
from agent.drivers.camera.config import CameraConfig
from agent.errors import AgentError, ConfigError

if TYPE_CHECKING:
    from agent.drivers.camera.analysis.image import Image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, metavar="FILE", help="the agent's TOML config")
    parser.add_argument("--camera", required=True, metavar="NAME", help="the camera's device id in that config")
    parser.add_argument("--seconds", type=float, default=10.0, help="how long to watch (default 10)")
    parser.add_argument("--frames", type=int, default=20, help="frames to keep over that time (default 20)")
    parser.add_argument(
        "--allow-people", action="store_true", help="commission even if people are seen (not recommended)"
    )


def run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(exc.report(), file=sys.stderr)
        return 2
    cameras = {d.id: d for d in config.devices if isinstance(d, CameraConfig)}
    camera = cameras.get(args.camera)
    if camera is None:
        known = ", ".join(sorted(cameras)) or "none"
        print(f"{args.config}: no camera {args.camera!r} (cameras: {known})", file=sys.stderr)
        return 2
    if args.frames < 5 or args.seconds <= 0:
        print("--frames must be at least 5 and --seconds positive", file=sys.stderr)
        return 2
    try:
        return _commission(camera, args.config.resolve().parent, args)
    except AgentError as exc:
        print(f"camera {camera.id}: {exc}", file=sys.stderr)
        return 1


def _commission(camera: CameraConfig, config_dir: Path, args: argparse.Namespace) -> int:
    # Imported here: OpenCV loads only for this subcommand.
    from agent.drivers.camera import baseline_store  # noqa: PLC0415
    from agent.drivers.camera.capture import Timeouts  # noqa: PLC0415
    from agent.drivers.camera.commissioning import commission  # noqa: PLC0415
    from agent.drivers.camera.openers import make_opener  # noqa: PLC0415

    spec = camera.source_spec
    timeouts = Timeouts(open_s=camera.open_timeout_s, read_s=camera.read_timeout_s)
    source = make_opener(spec, base_dir=config_dir, timeouts=timeouts, loop=False, colour=camera.colour)()
    frames: list[Image] = []
    try:
        interval = args.seconds / args.frames
        start = time.monotonic()
        next_at = start
        while len(frames) < args.frames and time.monotonic() - start < args.seconds + interval:
            if not source.grab():
                break
            if time.monotonic() >= next_at:
                frame = source.retrieve()
                if frame is None:
                    break
                frames.append(frame)
                next_at += interval
    finally:
        source.close()
    result = commission(frames, camera.analysis(), allow_people=args.allow_people)
    for note in result.notes:
        print(f"camera {camera.id}: note: {note}", file=sys.stderr)
    if result.baseline is None:
        for reason in result.refused:
            print(f"camera {camera.id}: refused: {reason}", file=sys.stderr)
        return 1
    files = baseline_store.baseline_files(config_dir, camera.baseline_dir, camera.id)
    baseline_store.save(files, result.baseline, captured_at=datetime.now(UTC), source=spec.describe())
    b = result.baseline
    print(
        f"camera {camera.id}: baseline of {b.frames} frames written to {files.numbers} and {files.reference.name} "
        f"(view {b.size[0]}×{b.size[1]}, sharpness {b.sharpness:.3f}, "
        f"brightness {b.brightness_min:.0f}-{b.brightness_max:.0f})"
    )
    return 0
