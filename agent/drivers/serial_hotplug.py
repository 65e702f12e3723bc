"""Finding a driver's serial port among the ttys udev knows, and noticing when it comes and goes.

Shared by the serial drivers that find their device rather than being given a fixed port: the ID-card
reader's supervisor uses :class:`CandidateRule`, :func:`candidates` and :class:`TtyWatcher` directly (it
confirms each candidate with SAM status), the cellular probe holds a :class:`TtyFinder`.

:class:`TtyWatcher` is a pyudev module: it enumerates the tty subsystem once and then listens for add /
remove / change.  The observer's callback only converts the device to a plain :class:`TtyDevice` and
enqueues it: an exception escaping a ``MonitorObserver`` callback kills pyudev's thread silently, and a
slow one delays every later event, so anything that can go wrong there is caught and counted instead.

:class:`TtyFinder` is what a driver's worker thread holds: udev when it can have it, else globbing the
configured paths; :meth:`TtyFinder.candidates` says which ports to try, :meth:`TtyFinder.refresh` whether
the port in use has been unplugged.
"""

from __future__ import annotations

import glob
import logging
import os
import queue
import threading
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any, Literal

from agent.errors import DriverError

log = logging.getLogger("sitewatch.agent.serial_hotplug")

Action = Literal["add", "remove", "change"]


@dataclass(frozen=True, slots=True)
class TtyDevice:
    """A tty as udev describes it; ``usb_id`` is ``vvvv:pppp`` (lower-case hex) when it sits on USB."""

    devnode: str
    links: tuple[str, ...] = ()
    usb_id: str | None = None

    @property
    def names(self) -> tuple[str, ...]:
        return (self.devnode, *self.links)


@dataclass(frozen=True, slots=True)
class CandidateRule:
    """``ports``: globs matched against a device node or any of its links (``/dev/serial/by-id/*``);
    ``usb_ids``: accepted ``vvvv:pppp``.  Every criterion given must match."""

    ports: tuple[str, ...] = ()
    usb_ids: tuple[str, ...] = ()

    def matches(self, device: TtyDevice) -> bool:
        if self.usb_ids and device.usb_id not in self.usb_ids:
            return False
        if self.ports:
            return any(fnmatchcase(name, pattern) for name in device.names for pattern in self.ports)
        return bool(self.usb_ids)

    def matches_path(self, path: str) -> bool:
        """A path found on the file system with no udev record (a pty, a system without udev)."""
        return not self.usb_ids and any(fnmatchcase(path, pattern) for pattern in self.ports)


def candidates(rule: CandidateRule, udev: Iterable[TtyDevice], paths: Iterable[str]) -> list[str]:
    """Paths to try, udev's first (they carry the most evidence), each once, in a stable order.

    A udev device is tried by the name the rule matched (a by-id link stays valid across re-enumeration).
    """
    out: list[str] = []
    seen: set[str] = set()
    for device in sorted(udev, key=lambda d: d.devnode):
        if not rule.matches(device):
            continue
        chosen = next((n for n in device.names if any(fnmatchcase(n, p) for p in rule.ports)), device.devnode)
        if device.devnode not in seen:
            out.append(chosen)
            seen.update(device.names)
    for path in sorted(paths):
        if path not in seen and rule.matches_path(path):
            out.append(path)
            seen.add(path)
    return out


@dataclass(frozen=True, slots=True)
class TtyChange:
    action: Action
    device: TtyDevice


class HotplugUnavailable(DriverError):
    """pyudev is missing or udev cannot be reached (no /sys, no netlink); the finder falls back to globbing."""


class TtyWatcher:
    def __init__(self, on_change: threading.Event | None = None, name: str = "tty-udev") -> None:
        self._queue: queue.SimpleQueue[TtyChange] = queue.SimpleQueue()
        self._wake = on_change
        self._name = name
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
            observer = pyudev.MonitorObserver(monitor, callback=self._on_device, name=self._name)
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


Mode = Literal["udev", "paths"]


class TtyFinder:
    """The ports a rule accepts right now, from udev (kept current by its events) and the file system.

    Not thread-safe: owned by one worker thread.  ``wake`` is set on every udev event, so a worker that
    waits on it notices a plug-in or an unplug at once instead of at its next attempt.
    """

    def __init__(self, rule: CandidateRule, *, hotplug: bool, wake: threading.Event | None, name: str) -> None:
        self.rule = rule
        self._hotplug = hotplug
        self._wake = wake
        self._name = name
        self._watcher: TtyWatcher | None = None
        self._udev: dict[str, TtyDevice] = {}
        self._plugged: set[str] = set()
        self.problem: str | None = None

    @property
    def mode(self) -> Mode:
        return "udev" if self._watcher is not None else "paths"

    @property
    def callback_errors(self) -> int:
        return self._watcher.callback_errors if self._watcher is not None else 0

    def start(self) -> None:
        if not self._hotplug:
            return
        watcher = TtyWatcher(self._wake, self._name)
        try:
            present = watcher.start()
        except HotplugUnavailable as exc:
            log.warning("%s: hotplug off, looking for ports by path only: %s", self._name, exc)
            self.problem = str(exc)
            return
        self._watcher = watcher
        self._udev = {device.devnode: device for device in present}

    def refresh(self, in_use: Collection[str] = ()) -> bool:
        """Apply udev's events; True when a removed device went by any of the names in ``in_use``.

        The names of devices added or re-described are kept for :meth:`take_plugged`, whichever call
        (this one or :meth:`candidates`) happened to drain their events.
        """
        if self._watcher is None:
            return False
        gone = False
        for change in self._watcher.drain():
            device = change.device
            if change.action == "remove":
                self._udev.pop(device.devnode, None)
                gone = gone or not set(in_use).isdisjoint(device.names)
            else:
                self._udev[device.devnode] = device
                self._plugged.update(device.names)
        return gone

    def take_plugged(self) -> set[str]:
        """Names of the devices plugged in (or re-described) since the last call: worth trying at once."""
        plugged, self._plugged = self._plugged, set()
        return plugged

    def names_of(self, path: str) -> frozenset[str]:
        """Every name the device at ``path`` goes by (node, links, the resolved path), so an unplug is
        recognised whichever name the port was opened by."""
        names = {path, os.path.realpath(path)}
        for device in self._udev.values():
            if not names.isdisjoint(device.names):
                names.update(device.names)
        return frozenset(names)

    def candidates(self) -> list[str]:
        self.refresh()
        paths = [p for pattern in self.rule.ports if pattern.startswith("/") for p in glob.glob(pattern)]
        return candidates(self.rule, self._udev.values(), paths)

    def absent_reason(self) -> str:
        if self.rule.usb_ids and self._watcher is None and self.problem is not None:
            return f"usb_ids need udev: {self.problem}"
        return "no candidate port present"

    def close(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.close()
