"""Which serial devices may be a room's reader: pure matching on what udev (or the file system) shows.

A USB-serial bridge's vendor/product id only makes a *candidate* (CH340s and CP210xs sit in many other
gadgets); the supervisor confirms with SAM status and identifies the reader by its SAM id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase


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
