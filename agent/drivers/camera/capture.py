"""The one module that touches ``cv2.VideoCapture``: open RTSP, V4L2 and file sources, read frames.

RTSP timeouts work only with the FFmpeg backend and only when passed at construction.  After a stalled
server, ``read()`` fails at the read timeout and never recovers: the caller releases and reopens (the
grabber does).  A capture is used by one thread only, the one that opened it; it is never released from
another thread (FFmpeg may be inside a read).

FFmpeg sources are read in grey unless the camera asks for colour: OpenCV then hands over the decoder's
luma plane as it is (``CAP_PROP_CONVERT_RGB`` off), instead of converting every analysed frame to BGR in a
picture of its own.  That saves 1.2-1.4 MB a camera (the BGR picture, the scaler and the larger frames in
flight) and the conversion's CPU; the analysis works on grey anyway.  OpenCV calls this path untested for
planar YUV, so it is taken only for pixel formats whose first plane is the luma (:data:`LUMA_FIRST`), and
the first frame must come out as one plane of the stream's size; anything else is opened again in colour.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import cv2
import numpy as np

from agent.drivers.camera.analysis.image import Image
from agent.drivers.camera.errors import CaptureError

# A file that claims no (or an absurd) frame rate is played at this one.
DEFAULT_FILE_FPS = 10.0
# One decoding thread per camera: a camera stream decodes in under a millisecond a frame here, and FFmpeg's
# default (a thread per core, each with its own frame buffers) costs memory and threads for nothing.
DECODE_PARAMS = (cv2.CAP_PROP_N_THREADS, 1)


def _fourcc(code: str) -> int:
    return int(cv2.VideoWriter.fourcc(*code))


# Decoder pixel formats (as CAP_PROP_CODEC_PIXEL_FORMAT names them) whose first plane is the picture's luma
# at full size: planar YUV 4:2:0 (yuv420p and yuvj420p are both I420; YV12 has its chroma planes swapped),
# NV12/NV21 (hardware decoders), planar 4:2:2 and 4:4:4, and grey.  Packed formats (YUY2, RGB) are not.
LUMA_FIRST = frozenset(
    _fourcc(code) for code in ("I420", "IYUV", "YV12", "NV12", "NV21", "Y42B", "444P", "Y800", "GREY", "Y8  ")
)


@dataclass(frozen=True, slots=True)
class Timeouts:
    open_s: float = 5.0
    read_s: float = 3.0


def _frame(ok: bool, frame: object) -> Image | None:
    if not ok or not isinstance(frame, np.ndarray) or frame.size == 0:
        return None
    return np.asarray(frame, dtype=np.uint8)


class Capture:
    """An open ``cv2.VideoCapture``; once the stream has failed or ended, :meth:`grab` is False and
    :meth:`read` is ``None``.

    :meth:`grab` reads and decodes a frame without converting it; :meth:`retrieve` converts the frame last
    grabbed to BGR.  The grab thread grabs every frame (a stream must be drained) and retrieves only those
    the analysis takes: the conversion and a new 1 MB array are then spent twice a second, not ten times."""

    def __init__(self, cap: cv2.VideoCapture, label: str, *, grey: bool = False) -> None:
        self._cap: cv2.VideoCapture | None = cap
        self.label = label
        # True when frames are the decoder's luma plane, not converted to BGR.
        self.grey = grey

    def grab(self) -> bool:
        if self._cap is None:
            return False
        try:
            return bool(self._cap.grab())
        except cv2.error:
            return False

    def retrieve(self) -> Image | None:
        if self._cap is None:
            return None
        try:
            ok, frame = self._cap.retrieve()
        except cv2.error:
            return None
        return _frame(ok, frame)

    def read(self) -> Image | None:
        return self.retrieve() if self.grab() else None

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


class FileCapture:
    """A video file or GIF played at its own frame rate, optionally looped (a replay, not a live feed)."""

    def __init__(self, path: str, *, loop: bool = False, colour: bool = False) -> None:
        self.label = path
        self._path = path
        self._loop = loop
        self._colour = colour
        self._capture = open_file_once(path, colour=colour)
        fps = self._capture.fps
        self._period = 1.0 / (fps if 0.5 <= fps <= 240.0 else DEFAULT_FILE_FPS)
        self._due = time.monotonic()
        self.ended = False

    def grab(self) -> bool:
        # Paced before decoding, as a live camera delivers: no decoded frame waits through the pause.
        now = time.monotonic()
        if self._due > now:
            time.sleep(self._due - now)
        # Never catch up with a burst: a slow reader simply gets the next frame late.
        self._due = max(self._due, now - self._period) + self._period
        grabbed = self._capture.grab()
        if not grabbed and self._loop:
            self._capture.close()
            self._capture = open_file_once(self._path, colour=self._colour)
            grabbed = self._capture.grab()
        if not grabbed:
            self.ended = True
        return grabbed

    def retrieve(self) -> Image | None:
        return self._capture.retrieve()

    def close(self) -> None:
        self._capture.close()


class _OpenFile(Capture):
    def __init__(self, cap: cv2.VideoCapture, label: str, fps: float, *, grey: bool) -> None:
        super().__init__(cap, label, grey=grey)
        self.fps = fps


def _luma_plane(cap: cv2.VideoCapture) -> bool:
    """Whether a capture opened with conversion off hands over its luma plane: a known pixel format, and a
    first frame of one plane at the stream's size.  The frame read to check is the stream's first; a live
    stream loses it, a file is rewound."""
    if int(cap.get(cv2.CAP_PROP_CODEC_PIXEL_FORMAT)) not in LUMA_FIRST:
        return False
    size = (int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)), int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)))
    try:
        ok, frame = cap.read()
    except cv2.error:
        return False
    return bool(ok) and isinstance(frame, np.ndarray) and frame.dtype == np.uint8 and frame.shape == size


def _open_ffmpeg(target: str, params: list[int], *, colour: bool) -> tuple[cv2.VideoCapture, bool]:
    """The opened capture and whether it reads grey; raises ``cv2.error`` as OpenCV does."""
    if not colour:
        # OpenCV logs a warning at the open and at every frame it hands over this way ("unsupported picture
        # format ... treated as 8UC1"): eight lines a second with four cameras.  Its level is process-wide, so
        # OpenCV's warnings all go; what they would tell (no stream, a timeout) the grabber sees and logs.
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_ERROR)
        cap = cv2.VideoCapture(target, cv2.CAP_FFMPEG, [*params, cv2.CAP_PROP_CONVERT_RGB, 0])
        if not cap.isOpened():
            return cap, True
        if _luma_plane(cap):
            return cap, True
        # OpenCV cannot switch the conversion on in an open capture (its next frame fails): open again.
        cap.release()
    return cv2.VideoCapture(target, cv2.CAP_FFMPEG, params), False


def open_file_once(path: str, *, colour: bool = False) -> _OpenFile:
    try:
        cap, grey = _open_ffmpeg(path, list(DECODE_PARAMS), colour=colour)
    except cv2.error as exc:
        raise CaptureError(f"cannot open video file {path}: {exc}") from exc
    if not cap.isOpened():
        cap.release()
        raise CaptureError(f"cannot open video file {path}")
    if grey and not cap.set(cv2.CAP_PROP_POS_FRAMES, 0):
        cap.release()
        raise CaptureError(f"cannot rewind video file {path}")
    return _OpenFile(cap, path, float(cap.get(cv2.CAP_PROP_FPS) or 0.0), grey=grey)


def open_rtsp(url: str, label: str, timeouts: Timeouts, *, colour: bool = False) -> Capture:
    """Open an RTSP stream; ``label`` (the URL without password) is what errors show."""
    params = [
        cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
        round(timeouts.open_s * 1000),
        cv2.CAP_PROP_READ_TIMEOUT_MSEC,
        round(timeouts.read_s * 1000),
        *DECODE_PARAMS,
    ]
    try:
        cap, grey = _open_ffmpeg(url, params, colour=colour)
    except cv2.error as exc:
        raise CaptureError(f"cannot open {label}: {exc}") from exc
    if not cap.isOpened():
        cap.release()
        raise CaptureError(f"cannot open {label} (no answer within {timeouts.open_s:g} s, or refused)")
    return Capture(cap, label, grey=grey)


def open_device(node: str) -> Capture:
    """Open a V4L2 device node such as ``/dev/video0``."""
    try:
        cap = cv2.VideoCapture(node, cv2.CAP_V4L2)
    except cv2.error as exc:
        raise CaptureError(f"cannot open {node}: {exc}") from exc
    if not cap.isOpened():
        cap.release()
        raise CaptureError(f"cannot open {node} (missing, busy, or not a capture device)")
    return Capture(cap, node)
