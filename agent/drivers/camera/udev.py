"""USB cameras through udev's ``video4linux`` subsystem: the one module that imports pyudev for cameras.

A camera named by serial (``source = "usb:<ID_SERIAL>"``) is looked up at every open, so it is found
again under whatever ``/dev/videoN`` it gets after replugging; :class:`CameraWatcher` tells the driver
when a video device appears, so it retries at once instead of at the end of its backoff.  A USB camera
exposes several nodes (metadata, second stream): only those with ``:capture:`` capability are cameras.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("sitewatch.agent.camera.udev")

SUBSYSTEM = "video4linux"


@dataclass(frozen=True, slots=True)
class VideoDevice:
    node: str
    serial: str | None
    product: str | None
    capture: bool


def _device(dev: Any) -> VideoDevice | None:
    node = dev.device_node
    if not node:
        return None
    props = dev.properties
    capabilities = props.get("ID_V4L_CAPABILITIES") or ""
    return VideoDevice(
        node=str(node),
        serial=props.get("ID_SERIAL") or props.get("ID_SERIAL_SHORT"),
        product=props.get("ID_V4L_PRODUCT") or props.get("ID_MODEL"),
        capture=":capture:" in capabilities,
    )


def list_cameras() -> list[VideoDevice]:
    """Every video4linux node with capture capability, sorted by node."""
    import pyudev  # noqa: PLC0415  # the package imports on machines without udev

    context = pyudev.Context()
    found = [_device(d) for d in context.list_devices(subsystem=SUBSYSTEM)]
    return sorted((d for d in found if d is not None and d.capture), key=lambda d: d.node)


def find_by_serial(serial: str) -> str | None:
    """The capture node of the camera with udev ``ID_SERIAL`` (or ``ID_SERIAL_SHORT``) ``serial``."""
    return next((d.node for d in list_cameras() if d.serial == serial), None)


class CameraWatcher:
    """Calls ``on_change(action, device)`` from pyudev's thread for every video4linux add or remove.

    The callback is wrapped: pyudev's observer thread dies silently if its callback raises.
    """

    def __init__(self, on_change: Callable[[str, VideoDevice], None]) -> None:
        self._on_change = on_change
        self._observer: Any = None

    def start(self) -> None:
        import pyudev  # noqa: PLC0415

        monitor = pyudev.Monitor.from_netlink(pyudev.Context())
        monitor.filter_by(subsystem=SUBSYSTEM)
        self._observer = pyudev.MonitorObserver(monitor, callback=self._event, name="camera-udev")
        self._observer.start()

    def _event(self, dev: Any) -> None:
        try:
            device = _device(dev)
            if device is not None:
                self._on_change(str(dev.action or ""), device)
        except Exception:  # the observer thread must survive anything
            log.exception("camera udev callback failed")

    def stop(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
