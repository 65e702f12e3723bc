"""A camera's commissioning files beside the agent config: ``<id>.reference.png`` and ``<id>.baseline.json``.

The PNG is the analysis-size grey reference view (lossless: the moved check matches features in it);
the JSON holds the numbers and says when, from what and with how many frames it was taken.  Both are
written to temporary names and renamed, so a crash never leaves half a baseline.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from agent.drivers.camera import grey_png
from agent.drivers.camera.analysis.baseline import Baseline
from agent.drivers.camera.analysis.image import CELLS_X, CELLS_Y
from agent.drivers.camera.errors import BaselineFileError

FORMAT = 1


@dataclass(frozen=True, slots=True)
class BaselineFiles:
    folder: Path
    camera: str

    @property
    def reference(self) -> Path:
        return self.folder / f"{self.camera}.reference.png"

    @property
    def numbers(self) -> Path:
        return self.folder / f"{self.camera}.baseline.json"

    def exists(self) -> bool:
        return self.reference.is_file() and self.numbers.is_file()


def baseline_files(config_dir: Path, baseline_dir: str, camera: str) -> BaselineFiles:
    folder = Path(baseline_dir)
    return BaselineFiles(folder if folder.is_absolute() else config_dir / folder, camera)


def save(files: BaselineFiles, baseline: Baseline, *, captured_at: datetime, source: str) -> None:
    try:
        png = grey_png.encode(baseline.reference)
    except ValueError as exc:
        raise BaselineFileError(f"cannot encode the reference view of {files.camera}: {exc}") from exc
    numbers = {
        "format": FORMAT,
        "camera": files.camera,
        "source": source,
        "captured_at": captured_at.isoformat(),
        "frames": baseline.frames,
        "width": baseline.size[0],
        "height": baseline.size[1],
        "sharpness": baseline.sharpness,
        "brightness_min": baseline.brightness_min,
        "brightness_max": baseline.brightness_max,
        "cell_std": [[round(float(v), 3) for v in row] for row in baseline.cell_std],
    }
    try:
        files.folder.mkdir(parents=True, exist_ok=True)
        _replace(files.reference, png)
        _replace(files.numbers, (json.dumps(numbers, indent=1) + "\n").encode("utf-8"))
    except OSError as exc:
        raise BaselineFileError(f"cannot write the baseline of {files.camera} in {files.folder}: {exc}") from exc


def load(files: BaselineFiles) -> Baseline | None:
    """The stored baseline, ``None`` if there is none; a broken one is an error, never silently ignored."""
    if not files.reference.exists() and not files.numbers.exists():
        return None
    try:
        raw = files.numbers.read_bytes()
        png = files.reference.read_bytes()
    except OSError as exc:
        raise BaselineFileError(f"baseline of {files.camera} incomplete or unreadable: {exc}") from exc
    try:
        data = json.loads(raw)
        return _parse(files, data, png)
    except (ValueError, KeyError, TypeError) as exc:
        raise BaselineFileError(f"{files.numbers}: not a usable baseline: {exc}") from exc


def _parse(files: BaselineFiles, data: dict[str, Any], png: bytes) -> Baseline:
    if data.get("format") != FORMAT:
        raise ValueError(f"format {data.get('format')!r}, expected {FORMAT}")
    try:
        decoded = grey_png.decode(png)
    except ValueError as exc:
        raise ValueError(f"{files.reference.name}: {exc}") from exc
    if decoded is None:  # a PNG of another kind than the commissioning command writes
        decoded = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise ValueError(f"{files.reference.name} is not a readable PNG")
    reference = np.asarray(decoded, dtype=np.uint8)
    size = (int(data["width"]), int(data["height"]))
    if (reference.shape[1], reference.shape[0]) != size:
        raise ValueError(f"reference is {reference.shape[1]}×{reference.shape[0]}, the numbers say {size[0]}×{size[1]}")
    cell_std = np.asarray(data["cell_std"], dtype=np.float32)
    if cell_std.shape != (CELLS_Y, CELLS_X):
        raise ValueError(f"cell_std is {cell_std.shape}, expected {(CELLS_Y, CELLS_X)}")
    return Baseline(
        reference=reference,
        sharpness=float(data["sharpness"]),
        brightness_min=float(data["brightness_min"]),
        brightness_max=float(data["brightness_max"]),
        cell_std=cell_std,
        frames=int(data["frames"]),
    )


def _replace(path: Path, content: bytes) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    with open(temporary, "wb") as fh:
        fh.write(content)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(temporary, path)
