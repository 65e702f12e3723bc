"""The ``idcard-sam`` driver: a real SAM reader on a serial port, found by config and hotplug.

``[[devices]]`` keys (besides ``driver``, ``id``, ``room``, ``label``)::

    port = "/dev/serial/by-id/usb-1a86_*"   # a device path or glob (node or udev link); and/or
    usb_ids = ["1a86:7523", "10c4:ea60"]     # USB bridges that make a tty a candidate
    sam_id = "05.01-…"                       # optional: only the reader with this SAM is this device
    baudrate = 115200
    hotplug = true                           # pyudev enumerate + monitor; false: look for `port` by path
    timeout_s = 0.5                          # every command but the read
    read_timeout_s = 2.0                     # the 1,295-byte text + photo read
    find_interval_s = 0.25                   # how often to look for a card
    status_interval_s = 10.0                 # SAM status while idle: a reader that died is noticed
    retry_s = 2.0                            # between attempts on a missing or faulty reader
    max_failures = 3                         # timeouts / garbled replies in a row that make a fault
    same_card_quiet_s = 5.0                  # the same card again within this is not a new check-in
    key_file = "/etc/sitewatch/exam.key"     # per-exam HMAC key (absolute path); reloaded when it changes
    roster_file = "/etc/sitewatch/room-101.roster"   # the room's candidate HMACs; reloaded when it changes

Without ``key_file`` the reader uses the key the hub pushes (:mod:`agent.roster`) and, without
``roster_file``, the pushed roster of its room; a file always wins (offline provisioning), and a file key
is never paired with a pushed roster (its HMACs were made with another key).

The state's details carry where the key and roster came from (``key_source`` / ``roster_source``:
``file``, ``pushed`` or None) and the roster's size, never the key; the reader's sub-state, its port and
SAM id (its identity: a USB bridge's ids are not; the birth announces it as the device's ``identity``),
and the health counters; events carry reader online / lost / fault / recovered and one ``idcard.checkin``
per card (see :mod:`agent.drivers.idcard.checkin` for what it may contain).
"""

from __future__ import annotations

import logging
import os
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.drivers.idcard.checkin import card_day
from agent.drivers.idcard.errors import ProvisioningError, ReaderError
from agent.drivers.idcard.machine import Health, Timing
from agent.drivers.idcard.privacy import CandidateKey, load_key, load_roster
from agent.drivers.idcard.status import DESCRIPTIONS, code
from agent.drivers.idcard.supervisor import CheckinPolicy, ReaderSnapshot, ReaderSupervisor
from agent.drivers.serial_hotplug import CandidateRule
from agent.roster import PushedRoster
from protocol.messages import DeviceInfo, DeviceState, DeviceStatus, Scalar
from protocol.validation import full

log = logging.getLogger("sitewatch.agent.idcard")

UsbId = Annotated[str, full(r"^[0-9a-f]{4}:[0-9a-f]{4}$")]
Baudrate = Literal[9600, 19200, 38400, 57600, 115200, 230400, 460800]
STATUS: Final[dict[str, DeviceStatus]] = {
    "absent": "offline",
    "probing": "unknown",
    "fault": "fault",
}
Source = Literal["file", "pushed"]
# A state message goes out whenever details change: counters that move with every find wait this long.
ROUTINE_REFRESH_S: Final = 60.0


class IdcardSamConfig(DeviceConfig, frozen=True, kw_only=True):
    driver: Literal["idcard-sam"] = "idcard-sam"
    port: Annotated[str, Meta(min_length=1, max_length=1024)] | None = None
    usb_ids: Annotated[list[UsbId], Meta(max_length=32)] = msgspec.field(default_factory=list)
    sam_id: Annotated[str, Meta(min_length=1, max_length=64)] | None = None
    baudrate: Baudrate = 115200
    hotplug: bool = True
    timeout_s: Annotated[float, Meta(gt=0, le=10)] = 0.5
    read_timeout_s: Annotated[float, Meta(gt=0, le=30)] = 2.0
    find_interval_s: Annotated[float, Meta(ge=0.01, le=5)] = 0.25
    status_interval_s: Annotated[float, Meta(ge=0.1, le=3600)] = 10.0
    retry_s: Annotated[float, Meta(ge=0.05, le=300)] = 2.0
    max_failures: Annotated[int, Meta(ge=1, le=20)] = 3
    same_card_quiet_s: Annotated[float, Meta(ge=0, le=600)] = 5.0
    key_file: Annotated[str, Meta(min_length=1)] | None = None
    roster_file: Annotated[str, Meta(min_length=1)] | None = None

    def __post_init__(self) -> None:
        if self.port is None and not self.usb_ids:
            raise ValueError("an ID-card reader needs `port` (a path or glob) or `usb_ids` to find its port")
        for key in ("key_file", "roster_file"):
            value = getattr(self, key)
            if value is not None and not os.path.isabs(value):
                raise ValueError(f"{key} must be an absolute path")
        if self.roster_file is not None and self.key_file is None:
            raise ValueError("roster_file needs key_file: a roster is a list of keyed HMACs")

    def timing(self) -> Timing:
        return Timing(
            timeout_s=self.timeout_s,
            read_timeout_s=self.read_timeout_s,
            find_interval_s=self.find_interval_s,
            status_interval_s=self.status_interval_s,
            retry_s=self.retry_s,
            max_failures=self.max_failures,
        )

    def rule(self) -> CandidateRule:
        return CandidateRule(ports=(self.port,) if self.port else (), usb_ids=tuple(self.usb_ids))


class IdcardSam(Driver[IdcardSamConfig]):
    kind = "idcard"

    def __init__(self, config: IdcardSamConfig) -> None:
        super().__init__(config)
        self._supervisor: ReaderSupervisor | None = None
        self._stamps: tuple[tuple[int, int] | None, ...] = ()
        self._provisioning_error: str | None = None
        self._pending: list[DriverEvent] = []
        self._sam_id: str | None = None
        self._significant: dict[str, Scalar] = {}
        self._routine: dict[str, Scalar] = {}
        self._routine_at = 0.0
        self._pushed: PushedRoster | None = None
        self._sources: tuple[Source | None, Source | None] = (None, None)

    def info(self) -> DeviceInfo:
        # The SAM id is the reader's identity: the agent sends a fresh birth when it is learned or changes.
        return msgspec.structs.replace(super().info(), identity=self._sam_id)

    def start(self) -> None:
        if self._supervisor is not None:
            return
        policy = self._load_policy()
        self._stamps = self._file_stamps()
        supervisor = ReaderSupervisor(
            name=self.config.id,
            rule=self.config.rule(),
            baudrate=self.config.baudrate,
            timing=self.config.timing(),
            policy=policy,
            sam_pin=self.config.sam_id,
            hotplug=self.config.hotplug,
        )
        supervisor.start()
        self._supervisor = supervisor

    def poll(self, now: datetime) -> DeviceState:
        supervisor = self._supervisor
        if supervisor is None:
            raise ReaderError(f"reader {self.config.id} polled before start")
        self._reprovision(supervisor)
        supervisor.set_today(card_day(now))
        snap = supervisor.snapshot()
        mono = time.monotonic()
        for notice in supervisor.drain():
            at = now - timedelta(seconds=max(0.0, mono - notice.mono))
            self._pending.append(DriverEvent(notice.name, notice.severity, at, notice.details))
        if snap.sam_id is not None:
            self._sam_id = snap.sam_id
        status = STATUS.get(snap.state, "ok")
        if status == "ok" and self._provisioning_error is not None:
            status = "warning"
        return self.state(status, self._details(snap, now, mono))

    def use_roster(self, roster: PushedRoster | None) -> None:
        """The roster the hub pushed (the supervisor's thread): taken up now if the reader runs."""
        if roster is self._pushed:
            return
        self._pushed = roster
        supervisor = self._supervisor
        if supervisor is None or (self.config.key_file and self.config.roster_file):
            return  # not started (start() picks it up), or both come from files
        try:
            policy = self._load_policy()
        except ProvisioningError as exc:
            self._provisioning_error = str(exc)
            return
        self._provisioning_error = None
        supervisor.set_policy(policy)
        log.info(
            "reader %s: pushed roster taken up (exam %s)", self.config.id, "none" if roster is None else roster.exam
        )

    def events(self) -> list[DriverEvent]:
        drained, self._pending = self._pending, []
        return drained

    def close(self) -> None:
        supervisor, self._supervisor = self._supervisor, None
        if supervisor is not None:
            supervisor.stop()

    # -- details ------------------------------------------------------------------------------------------
    def _details(self, snap: ReaderSnapshot, now: datetime, mono: float) -> dict[str, Scalar]:
        h = snap.health
        policy = self._supervisor.policy if self._supervisor is not None else None
        details: dict[str, Scalar] = {
            "state": snap.state,
            "port": snap.port,
            "sam_id": snap.sam_id,
            "error": snap.fault_reason or (snap.absent_reason if snap.state == "absent" else None),
            "timeouts": h.timeouts,
            "checksum_errors": h.checksum_errors,
            "length_errors": h.length_errors,
            "junk_bytes": snap.junk_bytes,
            "io_errors": snap.io_errors,
            "reads_ok": h.reads_ok,
            "reads_failed": h.reads_failed,
            "repeats": snap.repeats,
            "read_ms_last": None if h.read_s_last is None else round(h.read_s_last * 1000),
            "read_ms_mean": round(h.read_s_total * 1000 / h.reads_ok) if h.reads_ok else None,
            "read_ms_max": round(h.read_s_max * 1000) if h.reads_ok else None,
            "key_loaded": policy is not None and policy.key is not None,
            "key_source": self._sources[0],
            "roster_source": self._sources[1],
            "roster_exam": self._pushed.exam if "pushed" in self._sources and self._pushed is not None else None,
            "roster_size": None if policy is None or policy.roster is None else len(policy.roster),
            "provisioning_error": self._provisioning_error,
            "hotplug": snap.hotplug,
            "udev_callback_errors": snap.udev_callback_errors,
        }
        # The SW3 histogram and last_ok move with every find (four times a second): refreshed only with
        # a real change or once a ROUTINE_REFRESH_S, or every poll would be a state message.
        if details != self._significant or mono - self._routine_at >= ROUTINE_REFRESH_S:
            self._significant = dict(details)
            self._routine_at = mono
            self._routine = self._routine_details(h, now, mono)
        return {**details, **self._routine}

    @staticmethod
    def _routine_details(h: Health, now: datetime, mono: float) -> dict[str, Scalar]:
        last_ok = None
        if h.last_ok is not None:
            last_ok = (now - timedelta(seconds=max(0.0, mono - h.last_ok))).isoformat()
        routine: dict[str, Scalar] = {"last_ok": last_ok}
        other = 0
        for sw3, count in sorted(h.sw3.items()):
            if sw3 in DESCRIPTIONS:
                routine[f"sw3_{code(sw3)}"] = count
            else:
                other += count
        if other:
            routine["sw3_other"] = other
        return routine

    # -- provisioning -------------------------------------------------------------------------------------
    def _load_policy(self) -> CheckinPolicy:
        key_file, roster_file, room, pushed = (
            self.config.key_file,
            self.config.roster_file,
            self.config.room,
            self._pushed,
        )
        key: CandidateKey | None = None
        roster: frozenset[str] | None = None
        key_source: Source | None = None
        roster_source: Source | None = None
        if key_file:
            key, key_source = load_key(Path(key_file)), "file"
        elif pushed is not None:
            key, key_source = pushed.key, "pushed"
        if roster_file:
            roster, roster_source = load_roster(Path(roster_file)), "file"
        elif key_source == "pushed" and pushed is not None and room is not None:
            roster, roster_source = pushed.room(room), "pushed"
        self._sources = (key_source, roster_source)
        return CheckinPolicy(room=room, key=key, roster=roster, quiet_s=self.config.same_card_quiet_s)

    def _file_stamps(self) -> tuple[tuple[int, int] | None, ...]:
        stamps: list[tuple[int, int] | None] = []
        for name in (self.config.key_file, self.config.roster_file):
            try:
                st = os.stat(name) if name else None
            except OSError:
                st = None
            stamps.append(None if st is None else (st.st_mtime_ns, st.st_size))
        return tuple(stamps)

    def _reprovision(self, supervisor: ReaderSupervisor) -> None:
        """A new key or roster file takes effect at the next poll; a bad one keeps the old and says so."""
        stamps = self._file_stamps()
        if stamps == self._stamps:
            return
        self._stamps = stamps
        try:
            policy = self._load_policy()
        except ProvisioningError as exc:
            if str(exc) != self._provisioning_error:
                log.warning("reader %s: keeping the previous key and roster: %s", self.config.id, exc)
            self._provisioning_error = str(exc)
            return
        self._provisioning_error = None
        supervisor.set_policy(policy)
        log.info("reader %s: candidate key / roster reloaded", self.config.id)
