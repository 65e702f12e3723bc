"""The only pyudev module: which tty devices exist, and when that changes.

:meth:`TtyWatcher.start` enumerates the tty subsystem once and then listens for add / remove / change.
The observer's callback only converts the device to a plain :class:`TtyChange` and enqueues it: an
exception escaping a ``MonitorObserver`` callback kills pyudev's thread silently, and a slow one delays
every later event, so anything that can go wrong there is caught and counted instead.
"""

from __future__ import annotations

import logging
import queue
import threading
from dataclasses import dataclass
from typing import Any, Literal

from agent.drivers.idcard.candidates import TtyDevice
from agent.drivers.idcard.errors import ReaderError

log = logging.getLogger("sitewatch.agent.idcard.hotplug")

Action = Literal["add", "remove", "change"]


@dataclass(frozen=True, slots=True)
class TtyChange:
    action: Action
    device: TtyDevice


class HotplugUnavailable(ReaderError):
    """pyudev is missing or udev cannot be reached (no /sys, no netlink); the driver falls back to globbing."""


class TtyWatcher:
    def __init__(self, on_change: threading.Event | None = None) -> None:
        self._queue: queue.SimpleQueue[TtyChange] = queue.SimpleQueue()
        self._wake = on_change
        self._observer: Any = None
        self.callback_errors = 0

    def start(self) -> list[TtyDevice]:
        """Start listening, then enumerate; returns the devices present.  Listening first means a device
        plugged in between the two is seen at least once (perhaps twice, which is harmless)."""
        try:
            import pyudev  # noqa: PLC0415  # hardware library, imported by the driver that uses it

            context = pyudev.Context()
            monitor = pyudev.Monitor.from_netlink(context)
            monitor.filter_by("tty")
            observer = pyudev.MonitorObserver(monitor, callback=self._on_device, name="idcard-udev")
            observer.daemon = True
            observer.start()
            self._observer = observer
            present = [_describe(device) for device in context.list_devices(subsystem="tty")]
        except ImportError as exc:
            raise HotplugUnavailable("pyudev is not installed") from exc
        except (OSError, ValueError, RuntimeError) as exc:
            self.close()
            raise HotplugUnavailable(f"udev is not available: {exc}") from exc
        return [device for device in present if device is not None]

    def drain(self) -> list[TtyChange]:
        out: list[TtyChange] = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def close(self) -> None:
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()

    def _on_device(self, device: Any) -> None:
        try:
            action = device.action
            described = _describe(device)
            if described is not None and action in ("add", "remove", "change"):
                self._queue.put(TtyChange(action, described))
                if self._wake is not None:
                    self._wake.set()
        except Exception:  # noqa: BLE001  # see the module docstring: this thread must not die
            self.callback_errors += 1


def _describe(device: Any) -> TtyDevice | None:
    node = device.device_node
    if not node:
        return None
    props = device.properties
    links = tuple(device.device_links) or tuple(str(props.get("DEVLINKS", "")).split())
    vendor, product = props.get("ID_VENDOR_ID"), props.get("ID_MODEL_ID")
    if not (vendor and product):
        vendor, product = _usb_parent_ids(device)
    usb_id = f"{vendor}:{product}".lower() if vendor and product else None
    return TtyDevice(devnode=str(node), links=links, usb_id=usb_id)


def _usb_parent_ids(device: Any) -> tuple[str | None, str | None]:
    parent = device.find_parent("usb", "usb_device")
    if parent is None:
        return None, None
    attrs = parent.attributes
    try:
        return attrs.asstring("idVendor"), attrs.asstring("idProduct")
    except KeyError:
        return None, None
