"""Per-frame measurements on numpy images: small grey frames, sharpness, texture cells, uniformity.

Every function takes arrays and returns numbers or arrays; none keeps state or touches a device.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import ArrayLike, NDArray

Image = NDArray[np.uint8]
Floats = NDArray[np.float32]

# The texture grid: 16×9 cells of 20×20 px at 320×180 — fine enough that a soft-edged cover fills whole cells.
CELLS_X = 16
CELLS_Y = 9
# A cell of the reference with less texture than this (grey std) cannot show a cover: a plain wall.
TEXTURED_STD = 4.0


def median(values: ArrayLike, axis: int | None = None) -> NDArray[np.float64]:
    """``np.median`` of values without NaN, by partition.

    ``np.median`` checks its result for NaN through ``numpy.ma`` and so imports it on first use: 1.4 MB of
    the agent's resident memory for a module it never uses otherwise."""
    data = np.asarray(values, dtype=np.float64)
    if axis is None:
        data, axis = data.ravel(), 0
    n = data.shape[axis]
    if n == 0:
        raise ValueError("the median of no values")
    middle = n // 2
    if n % 2:
        return np.asarray(np.take(np.partition(data, middle, axis=axis), middle, axis=axis))
    parted = np.partition(data, (middle - 1, middle), axis=axis)
    return np.asarray((np.take(parted, middle - 1, axis=axis) + np.take(parted, middle, axis=axis)) / 2)


def fit(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The size that fits ``width × height`` into the box, aspect kept, never enlarged, never below 16 px."""
    scale = min(max_width / width, max_height / height, 1.0)
    return max(16, round(width * scale)), max(16, round(height * scale))


def shrink(frame: Image, size: tuple[int, int]) -> Image:
    """``frame`` at ``size`` (smaller or equal): an area filter by the whole factor, then linear for the rest.

    OpenCV's area filter is fast only for whole factors (768→320 costs 8× 768→384→320, measured 0.35 against
    0.045 ms); after a whole-factor area step the linear rest (below 2×) samples every pixel, so nothing
    aliases."""
    height, width = frame.shape[:2]
    if (width, height) == size:
        return frame
    factor = min(width // size[0], height // size[1])
    if factor >= 2:
        whole = (width // factor, height // factor)
        frame = np.asarray(cv2.resize(frame, whole, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        if whole == size:
            return frame
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def grey_small(frame: Image, size: tuple[int, int]) -> Image:
    """``frame`` (BGR or grey) as grey at ``size``; grey first, so the resize moves a third of the bytes."""
    grey = frame if frame.ndim == 2 else np.asarray(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), dtype=np.uint8)
    return np.ascontiguousarray(shrink(grey, size))


def resized(frame: Image, width: int) -> Image:
    """``frame`` scaled to ``width`` (aspect kept): shrunk as :func:`shrink` does, linear to enlarge."""
    height, current = frame.shape[:2]
    if current == width:
        return frame
    size = (width, max(1, round(height * width / current)))
    if width < current:
        return shrink(frame, size)
    return np.asarray(cv2.resize(frame, size, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


def sharpness(grey: Image) -> float:
    """Laplacian variance over grey variance: a light switched on or off scales both alike and cancels out."""
    variance = float(cv2.meanStdDev(grey)[1][0, 0]) ** 2
    if variance < 1.0:
        return 0.0
    return float(cv2.meanStdDev(laplacian(grey))[1][0, 0]) ** 2 / variance


def laplacian(grey: Image) -> Floats:
    """``cv2.Laplacian(grey, cv2.CV_32F)``, value for value (4-neighbour kernel, border mirrored without the
    edge: OpenCV's default), in numpy.  OpenCV's filter code, mapped for one 3×3 sum per frame, and its
    morphology code (:func:`opened`) were together 0.8 MB of the four-camera agent's RSS (issue 5); these
    cost 0.13 and 0.04 ms a frame."""
    padded = cv2.copyMakeBorder(grey, 1, 1, 1, 1, cv2.BORDER_REFLECT_101).astype(np.int16)
    centre = padded[1:-1, 1:-1]
    total = padded[:-2, 1:-1] + padded[2:, 1:-1] + padded[1:-1, :-2] + padded[1:-1, 2:] - 4 * centre
    return total.astype(np.float32)


def opened(mask: Image) -> Image:
    """``cv2.morphologyEx(mask, cv2.MORPH_OPEN, 3×3 ones)``, value for value, in numpy: an erosion (pixels
    beyond the edge count as set) then a dilation (as unset), as OpenCV's default border does (see
    :func:`laplacian` for why not OpenCV)."""
    return _neighbourhood(_neighbourhood(mask, np.minimum, 255), np.maximum, 0)


def _neighbourhood(image: Image, pick: np.ufunc, edge: int) -> Image:
    padded = np.asarray(cv2.copyMakeBorder(image, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=edge), dtype=np.uint8)
    rows, cols = image.shape
    out = padded[1 : rows + 1, 1 : cols + 1].copy()
    for dy in range(3):
        for dx in range(3):
            if dy != 1 or dx != 1:
                pick(out, padded[dy : dy + rows, dx : dx + cols], out=out)
    return out


def cells(grey: Image) -> tuple[Floats, Floats]:
    """Grey standard deviation and mean of each texture cell, as two ``CELLS_Y × CELLS_X`` arrays."""
    height, width = grey.shape
    ch, cw = height // CELLS_Y, width // CELLS_X
    # Centred on mid grey so that E[x²] - E[x]² keeps its precision in float32.
    block = grey[: ch * CELLS_Y, : cw * CELLS_X].astype(np.float32) - 128.0
    # An area resize to the grid is each cell's mean, in a quarter of the time numpy's reductions take.
    size = (CELLS_X, CELLS_Y)
    mean = cv2.resize(block, size, interpolation=cv2.INTER_AREA)
    square = cv2.resize(block * block, size, interpolation=cv2.INTER_AREA)
    std = np.sqrt(np.maximum(square - mean * mean, 0.0))
    return np.asarray(std, dtype=np.float32), np.asarray(mean + 128.0, dtype=np.float32)


def neighbour_correlation(grey: Image) -> float:
    """Correlation of each pixel with its right-hand neighbour: near 1 for any real picture, near 0 for snow."""
    left = grey[:, :-1].astype(np.float32).ravel()
    right = grey[:, 1:].astype(np.float32).ravel()
    left -= left.mean()
    right -= right.mean()
    denominator = float(np.sqrt((left * left).sum() * (right * right).sum()))
    if denominator == 0.0:
        return 1.0
    return float((left * right).sum()) / denominator


@dataclass(frozen=True, slots=True)
class Uniformity:
    uniform: bool
    # A uniform picture that no lens cover gives: saturated colour (a blue "no video" screen) or mid grey.
    screen: bool
    mean: float


def uniformity(frame: Image, grey: Image, max_std: float = 2.0) -> Uniformity:
    """Whether the picture is one flat colour, and whether that colour looks like an encoder's no-video screen."""
    mean_px, std_px = cv2.meanStdDev(grey)
    mean = float(mean_px[0, 0])
    if float(std_px[0, 0]) >= max_std:
        return Uniformity(False, False, mean)
    if frame.ndim == 3:
        sample = frame[::8, ::8].reshape(-1, 3).astype(np.float32).mean(axis=0)
        saturation = float(sample.max() - sample.min())
    else:
        saturation = 0.0
    screen = saturation > 60.0 or 60.0 <= mean <= 200.0
    return Uniformity(True, screen, mean)


# A cell whose mean the light would put above this clips at the sensor's white.
NEAR_WHITE = 200.0
# A pixel this many grey levels away from before has changed (real sensor noise stays within it).
CHANGED_LEVELS = 12


def changed_pixels(grey: Image, before: Image) -> float:
    """Share of pixels more than ``CHANGED_LEVELS`` away from ``before`` (the same size)."""
    _, changed = cv2.threshold(cv2.absdiff(grey, before), CHANGED_LEVELS, 255, cv2.THRESH_BINARY)
    return float(cv2.countNonZero(changed)) / grey.size


def changed_share(mean: Floats, reference_mean: Floats, levels: float = 10.0) -> float | None:
    """Share of texture cells whose mean grey differs from the reference's by more than ``levels``, after
    scaling the reference to the frame's brightness; None when the light changed too much to compare.

    Cells the scaled reference puts near white are left out: the sensor clips there, so they no longer
    scale (light ×1.4 in the one-by-one room: 29% of cells otherwise).  Measured on that room: 0.0 on 59
    of 60 empty frames (0.1 on one, just after someone left), 0.5-0.9 with the person in, 0.1-0.2 with
    them at the edge of the view."""
    gain = float(median(mean)) / max(1.0, float(median(reference_mean)))
    if not 0.5 <= gain <= 2.0:
        return None
    expected = reference_mean * gain
    comparable = expected <= NEAR_WHITE
    if comparable.mean() < 0.25:
        return None
    changed = (np.abs(mean - expected) > levels * gain) & comparable
    return float(changed.sum()) / float(comparable.sum())


def covered_share(std: Floats, reference_std: Floats) -> float:
    """Share of the reference's textured cells whose texture fell below 15% of it (or to sensor noise).

    A cover flattens the cells it hides; dimming the light halves their contrast but keeps it (measured: a
    soft-edged cover over 60% of the view flattens 41-48% of textured cells, light ×0.25…×1.5 at most 7%).
    """
    textured = reference_std >= TEXTURED_STD
    count = int(textured.sum())
    if count == 0:
        return 0.0
    flat = (std < 0.15 * reference_std) | (std < 1.0)
    return float((flat & textured).sum()) / count
