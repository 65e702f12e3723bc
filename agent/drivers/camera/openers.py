"""From a parsed ``source`` to a function that opens it; the grab thread calls it at every (re)open."""

from __future__ import annotations

from pathlib import Path

from agent.drivers.camera.capture import FileCapture, Timeouts, open_device, open_rtsp
from agent.drivers.camera.errors import CaptureError
from agent.drivers.camera.grabber import FrameSource, Opener
from agent.drivers.camera.source import SourceSpec
from agent.drivers.camera.synthetic import SyntheticSource


def make_opener(spec: SourceSpec, *, base_dir: Path, timeouts: Timeouts, loop: bool, colour: bool = False) -> Opener:
    """``colour``: FFmpeg sources (RTSP, files) in BGR rather than grey (see ``capture``); a V4L2 device and
    the synthetic scene are always colour."""
    label = spec.describe()
    if spec.kind == "rtsp":
        return lambda: open_rtsp(spec.target, label, timeouts, colour=colour)
    if spec.kind == "file":
        path = Path(spec.target)
        return _Replay(str(path if path.is_absolute() else base_dir / path), loop=loop, colour=colour)
    if spec.kind == "synthetic":
        return lambda: SyntheticSource(int(spec.target))
    if spec.by_serial:
        return lambda: _open_serial(spec.target)
    return lambda: open_device(spec.target)


class _Replay:
    """Opens a file; once a file that does not loop has played to its end, it stays ended (a replay is
    over, it does not start again after the grabber's reconnect wait)."""

    def __init__(self, path: str, *, loop: bool, colour: bool) -> None:
        self.path = path
        self.loop = loop
        self.colour = colour
        self._opened: FileCapture | None = None

    def __call__(self) -> FrameSource:
        if self._opened is not None and self._opened.ended:
            raise CaptureError(f"replay of {self.path} ended")
        self._opened = FileCapture(self.path, loop=self.loop, colour=self.colour)
        return self._opened


def _open_serial(serial: str) -> FrameSource:
    from agent.drivers.camera.udev import find_by_serial  # noqa: PLC0415  # pyudev only for USB cameras

    try:
        node = find_by_serial(serial)
    except Exception as exc:  # pyudev raises its own and OSError subclasses
        raise CaptureError(f"cannot ask udev for camera {serial}: {exc}") from exc
    if node is None:
        raise CaptureError(f"no video capture device with serial {serial} (unplugged?)")
    return open_device(node)
