"""A generated vault for the demo: a lit room with shelves of paper boxes, and figures walking in and out.

The scene is a pure function of time and seed, so the demo and tests see the same thing; a source wraps
it to deliver frames in real time.  The figures are drawn so that OpenCV's HOG people detector finds them
(about three quarters of the frame tall, dark legs apart, shoulders, a head), and every frame carries
sensor-like noise so a live synthetic camera never reads as frozen.

One cycle of ``CYCLE_S`` seconds: empty; A walks in; B walks in; both stay; B leaves and A stays alone
(long enough to break the two-person rule); A leaves; empty again.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np

from agent.drivers.camera.analysis.image import Image

WIDTH: Final = 640
HEIGHT: Final = 360
FPS: Final = 5.0
NOISE_MARGIN: Final = 16
CYCLE_S: Final = 120.0
NOISE_SIGMA: Final = 2.5
FLOOR_Y: Final = round(HEIGHT * 0.62)
DOOR_X: Final = WIDTH - 105
WALK_S: Final = 5.0


@dataclass(frozen=True, slots=True)
class Visit:
    """One figure: enters (walking from the door) at ``enter``, stands at ``stand_x``, leaves at ``leave``."""

    enter: float
    leave: float
    stand_x: int
    feet_y: int
    height: int
    shirt: tuple[int, int, int]


VISITS: Final[tuple[Visit, ...]] = (
    Visit(15.0, 75.0, 200, FLOOR_Y + 95, 262, (50, 40, 120)),
    Visit(22.0, 50.0, 370, FLOOR_Y + 105, 270, (40, 100, 50)),
)


def people_at(t: float) -> int:
    """How many figures are fully inside the room at scene time ``t`` (the demo's ground truth)."""
    phase = t % CYCLE_S
    return sum(1 for v in VISITS if v.enter + WALK_S <= phase < v.leave)


def _position(visit: Visit, phase: float) -> tuple[int, float] | None:
    """The figure's x and stride phase at ``phase`` seconds into the cycle, or None when it is not in view."""
    if phase < visit.enter or phase >= visit.leave + WALK_S:
        return None
    if phase < visit.enter + WALK_S:
        share = (phase - visit.enter) / WALK_S
        return round(DOOR_X + (visit.stand_x - DOOR_X) * share), phase * 7.0
    if phase < visit.leave:
        # Standing: a little sway, legs together-ish.
        return visit.stand_x + round(3 * math.sin(phase * 0.8)), 0.3 * math.sin(phase * 0.5)
    share = (phase - visit.leave) / WALK_S
    return round(visit.stand_x + (DOOR_X - visit.stand_x) * share), phase * 7.0


def _room() -> Image:
    img = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    img[:] = (200, 205, 210)
    img[FLOOR_Y:] = (70, 100, 140)
    for x in range(-WIDTH, 2 * WIDTH, 48):
        cv2.line(img, (WIDTH // 2 + (x - WIDTH // 2) // 3, FLOOR_Y), (x, HEIGHT), (55, 80, 115), 2)
    cv2.line(img, (0, FLOOR_Y), (WIDTH, FLOOR_Y), (40, 50, 60), 3)
    for i in range(4):
        x = 40 + i * 70
        cv2.rectangle(img, (x, FLOOR_Y - 110), (x + 55, FLOOR_Y), (60, 90, 120), -1)
        cv2.rectangle(img, (x, FLOOR_Y - 110), (x + 55, FLOOR_Y), (30, 40, 50), 2)
        for j in range(1, 3):
            cv2.line(img, (x, FLOOR_Y - 110 + j * 36), (x + 55, FLOOR_Y - 110 + j * 36), (30, 40, 50), 2)
    cv2.rectangle(img, (DOOR_X - 45, FLOOR_Y - 150), (DOOR_X + 45, FLOOR_Y), (90, 90, 95), -1)
    cv2.rectangle(img, (DOOR_X - 45, FLOOR_Y - 150), (DOOR_X + 45, FLOOR_Y), (30, 30, 30), 3)
    cv2.circle(img, (DOOR_X + 35, FLOOR_Y - 75), 4, (20, 20, 20), -1)
    return img


def _poly(img: Image, points: list[tuple[float, float]], colour: tuple[int, int, int]) -> None:
    cv2.fillConvexPoly(img, np.array(points, dtype=np.int32), colour, cv2.LINE_AA)


def _figure(img: Image, cx: float, visit: Visit, stride: float) -> None:
    feet_y, height, shirt = visit.feet_y, visit.height, visit.shirt
    u = height / 8.0  # one head height: a figure is eight heads tall
    top = feet_y - height
    hip = top + 4.0 * u
    shoulder = top + 1.5 * u
    swing = math.sin(stride)
    skin, trousers, dark = (140, 160, 195), (45, 40, 40), (25, 25, 25)
    for side in (-1, 1):
        foot = cx + side * 0.35 * u + side * swing * 0.6 * u
        _poly(
            img,
            [
                (cx + side * 0.05 * u, hip),
                (cx + side * 0.95 * u, hip),
                (foot + side * 0.45 * u, feet_y),
                (foot - side * 0.2 * u, feet_y),
            ],
            trousers,
        )
        cv2.ellipse(
            img,
            (round(foot + side * 0.2 * u), round(feet_y)),
            (round(0.45 * u), round(0.18 * u)),
            0,
            0,
            360,
            dark,
            -1,
            cv2.LINE_AA,
        )
    _poly(
        img,
        [
            (cx - 1.05 * u, shoulder),
            (cx + 1.05 * u, shoulder),
            (cx + 0.9 * u, hip + 0.3 * u),
            (cx - 0.9 * u, hip + 0.3 * u),
        ],
        shirt,
    )
    for side in (-1, 1):
        cv2.ellipse(
            img,
            (round(cx + side * 0.75 * u), round(shoulder + 0.25 * u)),
            (round(0.35 * u), round(0.3 * u)),
            0,
            0,
            360,
            shirt,
            -1,
            cv2.LINE_AA,
        )
        hand = cx + side * 1.2 * u - swing * 0.5 * u
        _poly(
            img,
            [
                (cx + side * 0.8 * u, shoulder + 0.1 * u),
                (cx + side * 1.3 * u, shoulder + 0.2 * u),
                (hand + side * 0.3 * u, hip + 0.5 * u),
                (hand - side * 0.15 * u, hip + 0.5 * u),
            ],
            shirt,
        )
        cv2.circle(img, (round(hand + side * 0.08 * u), round(hip + 0.6 * u)), round(0.22 * u), skin, -1, cv2.LINE_AA)
    cv2.rectangle(
        img, (round(cx - 0.25 * u), round(top + 0.9 * u)), (round(cx + 0.25 * u), round(shoulder + 0.1 * u)), skin, -1
    )
    cv2.ellipse(
        img, (round(cx), round(top + 0.5 * u)), (round(0.42 * u), round(0.55 * u)), 0, 0, 360, skin, -1, cv2.LINE_AA
    )
    cv2.ellipse(
        img, (round(cx), round(top + 0.35 * u)), (round(0.45 * u), round(0.42 * u)), 0, 180, 360, dark, -1, cv2.LINE_AA
    )


class Scene:
    """Renders the room at any scene time; holds only the empty room, drawn once."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self._room = _room()
        # One noise field a little larger than the frame; each frame takes it at another offset (a view, no
        # copy): fresh-looking noise for the price of two saturating adds, in 1.5 MB.
        rng = np.random.default_rng(seed)
        noise = rng.normal(0.0, NOISE_SIGMA, (HEIGHT + NOISE_MARGIN, WIDTH + NOISE_MARGIN, 3))
        self._up = np.clip(noise, 0, 255).astype(np.uint8)
        self._down = np.clip(-noise, 0, 255).astype(np.uint8)

    def render(self, t: float) -> Image:
        phase = t % CYCLE_S
        img = self._room.copy()
        placed = [(v, _position(v, phase)) for v in VISITS]
        # Farther figures (feet higher up) first, so nearer ones are drawn over them.
        for visit, where in sorted(placed, key=lambda item: item[0].feet_y):
            if where is not None:
                _figure(img, where[0], visit, where[1])
        blurred = cv2.GaussianBlur(img, (0, 0), 0.8)
        frame = round(t * FPS)
        dy, dx = (frame * 7) % NOISE_MARGIN, (frame * 11) % NOISE_MARGIN
        up = self._up[dy : dy + HEIGHT, dx : dx + WIDTH]
        down = self._down[dy : dy + HEIGHT, dx : dx + WIDTH]
        return np.asarray(cv2.subtract(cv2.add(blurred, up), down), dtype=np.uint8)


class SyntheticSource:
    """The scene as a live camera: frames at ``FPS`` in real time, scene time counted from opening.

    A frame source as the grabber wants one: :meth:`grab` waits for the next frame's time, :meth:`retrieve`
    renders the scene at that time (only the frames the analysis takes are drawn)."""

    def __init__(self, seed: int = 0, start_s: float = 0.0) -> None:
        self.label = f"synthetic:{seed}"
        self._scene = Scene(seed)
        self._opened = time.monotonic() - start_s
        self._due = time.monotonic()
        self._grabbed_at = self._opened

    def grab(self) -> bool:
        now = time.monotonic()
        if self._due > now:
            time.sleep(self._due - now)
        self._due = max(self._due, now - 1.0 / FPS) + 1.0 / FPS
        self._grabbed_at = time.monotonic()
        return True

    def retrieve(self) -> Image | None:
        return self._scene.render(self._grabbed_at - self._opened)

    def read(self) -> Image | None:
        return self.retrieve() if self.grab() else None

    def close(self) -> None:
        """Nothing to release."""
