"""OpenCV's HOG ``detectMultiScale``, level by level, so that a caller can skip the levels it does not need.

OpenCV offers no way to start its pyramid above the first level: shrinking the image first samples other
scales and interpolates twice, and HOG's answer near its threshold changes with that (on the one-by-one
footage a look for a person of known size then missed them four times in 279 frames where the whole
pyramid saw them).  This runs the very same levels — the same scale list, ``INTER_LINEAR_EXACT`` resizes from
the original, ``HOGDescriptor.detect`` on each — and groups the hits as ``HOGDescriptor::groupRectangles``
does, which Python cannot call; on all 279 frames of that footage the result is identical to
``detectMultiScale`` (rectangles and scores), and a subset of the levels gives a subset of the hits.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from agent.drivers.camera.analysis.image import Image

# (x, y, width, height) in pixels of the scanned image.
Rect = tuple[int, int, int, int]

# detectMultiScale's defaults: at most 64 levels; a group needs more than 2 hits; rectangles within 20%
# of each other's size are the same hit.
MAX_LEVELS = 64
GROUP_THRESHOLD = 2
GROUP_EPS = 0.2


def levels(width: int, height: int, window: tuple[int, int], step: float) -> list[float]:
    """The pyramid's scales for an image of this size, exactly as ``detectMultiScale`` lists them."""
    scales: list[float] = []
    scale = 1.0
    for _ in range(MAX_LEVELS):
        scales.append(scale)
        if round(width / scale) < window[0] or round(height / scale) < window[1] or step <= 1.0:
            break
        scale *= step
    return scales


def detect(
    hog: cv2.HOGDescriptor, image: Image, *, step: float, stride: int, padding: int, first: float = 1.0
) -> list[tuple[Rect, float]]:
    """People (rectangle, score) in ``image`` from the pyramid levels at ``first`` and coarser."""
    height, width = image.shape[:2]
    window = (int(hog.winSize[0]), int(hog.winSize[1]))
    fitting = [
        scale
        for scale in levels(width, height, window, step)
        if round(width / scale) >= window[0] and round(height / scale) >= window[1]
    ]
    # A first level beyond the coarsest still scans the coarsest, where the window fills the image.
    first = min(first, fitting[-1]) if fitting else first
    rects: list[Rect] = []
    scores: list[float] = []
    for scale in fitting:
        # A hair below: the scales are products of floats, the bound a quotient of them.
        if scale < first * (1.0 - 1e-9):
            continue
        size = (round(width / scale), round(height / scale))
        level = image if size == (width, height) else cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)
        found, weights = hog.detect(level, hitThreshold=0.0, winStride=(stride, stride), padding=(padding, padding))
        sized = (round(window[0] * scale), round(window[1] * scale))
        for (x, y), score in zip(np.reshape(found, (-1, 2)), np.ravel(weights), strict=True):
            rects.append((round(float(x) * scale), round(float(y) * scale), *sized))
            scores.append(float(score))
    return group(rects, scores)


def _similar(a: Rect, b: Rect, eps: float) -> bool:
    delta = eps * (min(a[2], b[2]) + min(a[3], b[3])) * 0.5
    return (
        abs(a[0] - b[0]) <= delta
        and abs(a[1] - b[1]) <= delta
        and abs(a[0] + a[2] - b[0] - b[2]) <= delta
        and abs(a[1] + a[3] - b[1] - b[3]) <= delta
    )


def group(
    rects: Sequence[Rect], scores: Sequence[float], threshold: int = GROUP_THRESHOLD, eps: float = GROUP_EPS
) -> list[tuple[Rect, float]]:
    """``HOGDescriptor::groupRectangles``: clusters of similar hits averaged, each with its best score; a
    cluster of ``threshold`` hits or fewer is dropped, and so is one inside a better-supported other."""
    parent = list(range(len(rects)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(len(rects)):
        for j in range(i):
            if _similar(rects[i], rects[j], eps):
                parent[root(i)] = root(j)
    members: dict[int, list[int]] = {}
    for i in range(len(rects)):
        members.setdefault(root(i), []).append(i)
    clusters = [
        (
            tuple(round(sum(rects[i][k] for i in m) * (1.0 / len(m))) for k in range(4)),
            len(m),
            max(scores[i] for i in m),
        )
        for m in members.values()
    ]
    kept: list[tuple[Rect, float]] = []
    for i, (r1, n1, score) in enumerate(clusters):
        if n1 <= threshold:
            continue
        inside = False
        for j, (r2, n2, _) in enumerate(clusters):
            if j == i or n2 <= threshold:
                continue
            dx, dy = round(r2[2] * eps), round(r2[3] * eps)
            if (
                r1[0] >= r2[0] - dx
                and r1[1] >= r2[1] - dy
                and r1[0] + r1[2] <= r2[0] + r2[2] + dx
                and r1[1] + r1[3] <= r2[1] + r2[3] + dy
                and (n2 > max(3, n1) or n1 < 3)
            ):
                inside = True
                break
        if not inside:
            kept.append(((r1[0], r1[1], r1[2], r1[3]), score))
    return kept
