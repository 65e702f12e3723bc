"""Tampering done to real frames, as the footage README describes the cases (pure numpy/OpenCV)."""

from __future__ import annotations

import math

import cv2
import numpy as np
from camera_footage import Frame


def _noisy(shape: tuple[int, ...], level: float, seed: int) -> Frame:
    rng = np.random.default_rng(seed)
    return np.clip(rng.normal(level, 2.0, shape), 0, 255).astype(np.uint8)


def cover(frame: Frame, seed: int = 0) -> Frame:
    """A cap on the lens: near-black with a little sensor noise."""
    return _noisy(frame.shape, 8.0, seed)


def blind(frame: Frame, seed: int = 0) -> Frame:
    """A torch into the lens: near-white."""
    return _noisy(frame.shape, 247.0, seed)


def patch(frame: Frame, share: float = 0.6, level: float = 15.0, seed: int = 0) -> Frame:
    """A soft-edged ellipse of ``level`` over ``share`` of the view (a hand, a cloth)."""
    height, width = frame.shape[:2]
    a = math.sqrt(share * width * height / math.pi * width / height)
    mask = np.zeros((height, width), np.float32)
    cv2.ellipse(mask, (width // 2, height // 2), (round(a), round(a * height / width)), 0, 0, 360, 1.0, -1)
    mask = cv2.GaussianBlur(mask, (0, 0), width / 60)
    if frame.ndim == 3:
        mask = mask[..., None]
    cloth = _noisy(frame.shape, level, seed).astype(np.float32)
    return (frame * (1 - mask) + cloth * mask).astype(np.uint8)


def blur(frame: Frame, sigma: float) -> Frame:
    return np.asarray(cv2.GaussianBlur(frame, (0, 0), sigma), dtype=np.uint8)


def shift(frame: Frame, share: float) -> Frame:
    """The view moved sideways by ``share`` of its width (edge pixels repeated where nothing was seen)."""
    height, width = frame.shape[:2]
    matrix = np.float32([[1, 0, -share * width], [0, 1, 0]])
    return np.asarray(cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE), np.uint8)


def rotate(frame: Frame, degrees: float) -> Frame:
    height, width = frame.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return np.asarray(cv2.warpAffine(frame, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE), np.uint8)


def light(frame: Frame, gain: float) -> Frame:
    """The light switched: every pixel scaled (and clipped, as a sensor does)."""
    return np.clip(frame.astype(np.float32) * gain, 0, 255).astype(np.uint8)


# An encoder's blue "no video" screen: BGR, and the luma a limited-range decoder gives of it (16 + 219/255 ×
# the BT.601 grey of that blue).
BLUE = (160, 40, 20)
BLUE_LUMA = 57


def blue_screen(frame: Frame) -> Frame:
    """An encoder's "no video" screen, in colour or as the grey plane of a camera read in grey."""
    return np.full(frame.shape, BLUE if frame.ndim == 3 else BLUE_LUMA, np.uint8)


def grey_screen(frame: Frame) -> Frame:
    return np.full(frame.shape, 128, np.uint8)


def snow(frame: Frame, seed: int = 0) -> Frame:
    return np.random.default_rng(seed).integers(0, 256, frame.shape, dtype=np.uint8)
