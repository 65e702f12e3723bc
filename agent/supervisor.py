"""Wires config → drivers → sink and runs the agent's one loop.

Every message of a boot carries the boot id and a sequence number: the first birth is seq 0;
heartbeats, states and events take 1, 2, … in the order they are produced.  When the inventory a birth
announced changes (a reader's SAM id learned, a reader swapped for another), a fresh birth goes out under
the next seq, before the state that shows the change.  A reconnect re-sends the latest birth unchanged in
number, or a fresh one if the inventory moved while the link was down.  Production does not depend on
the connection: the sink decides what to do with a message it cannot deliver, which is where the
durable outbox will slot in.

The loop runs in one thread.  The link's network thread only calls :meth:`Supervisor.notify_connected`,
which sets an event; the birth itself is produced here, on the next pass.
"""

from __future__ import annotations

import base64
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec

from agent import __version__
from agent.calendar import CalendarKeeper
from agent.clock import Clock, SystemClock
from agent.config import AgentConfig
from agent.devices import DeviceSlot
from agent.drivers.base import Driver, DriverEvent
from agent.drivers.registry import create_driver
from agent.outbox import OutboxStats, Thinned
from agent.roster import RosterKeeper, RosterUser
from agent.sink import AgentMessage, Sink
from protocol.messages import NO_CALENDAR, Birth, DeviceInfo, DeviceState, Event, Heartbeat, Snapshot, State
from protocol.topics import Kind, topic_for
from protocol.validation import checked

log = logging.getLogger("sitewatch.agent.supervisor")


def new_boot_id() -> str:
    return uuid.uuid4().hex[:16]


def software_version() -> str:
    # The version a deployment is identified by: the package's own (pyproject reads it from here), not read
    # from the installed metadata, whose importlib.metadata costs the agent 0.7 MB of memory for one string.
    return __version__


@dataclass(slots=True)
class SupervisorCounters:
    births: int = 0
    heartbeats: int = 0
    states: int = 0
    events: int = 0
    bad_events: int = 0
    thinned: int = 0
    snapshots: int = 0
    snapshots_missing: int = 0
    loop_errors: int = 0


class Supervisor:
    def __init__(
        self,
        config: AgentConfig,
        sink: Sink,
        *,
        boot: str | None = None,
        clock: Clock | None = None,
        drivers: Sequence[Driver[Any]] | None = None,
        tick_s: float = 1.0,
        outbox_stats: Callable[[], OutboxStats] | None = None,
        base_dir: Path | None = None,
        calendar: CalendarKeeper | None = None,
        roster: RosterKeeper | None = None,
    ) -> None:
        self.config = config
        self.sink = sink
        self.boot = boot or new_boot_id()
        self.clock = clock or SystemClock()
        self.tick_s = tick_s
        self.outbox_stats = outbox_stats
        self.sw_version = software_version()
        self.counters = SupervisorCounters()
        self.calendar = calendar
        self.roster = roster
        chosen = drivers if drivers is not None else [create_driver(device, base_dir) for device in config.devices]
        self.devices = [DeviceSlot(driver) for driver in chosen]
        self.started_at = self.clock.now()
        self._started_mono = self.clock.monotonic()
        self._seq = 0
        self._birth_seq = 0
        # What the latest birth announced; None until the first one (only a connection produces it).
        self._announced: list[DeviceInfo] | None = None
        self._next_heartbeat = self._started_mono + config.agent.heartbeat_s
        self._last_states: list[DeviceState] | None = None
        self._last_state_mono = self._started_mono
        self._connected = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()

    @property
    def agent_id(self) -> str:
        return self.config.agent.agent_id

    def notify_connected(self) -> None:
        """Called from the link's thread on every (re)connect: returns at once."""
        self._connected.set()
        self._wake.set()

    def request_stop(self) -> None:
        """Safe from a signal handler or another thread."""
        self._stop.set()
        self._wake.set()

    def start_devices(self) -> None:
        for device in self.devices:
            device.start(self.clock.monotonic())

    def close_devices(self) -> None:
        for device in self.devices:
            device.close()

    def run(self) -> None:
        """Start the devices and loop until :meth:`request_stop`; the devices are closed on the way out."""
        self.start_devices()
        try:
            while not self._stop.is_set():
                try:
                    self.step()
                except Exception:  # one bad pass must not end the agent; the next tick tries again
                    self.counters.loop_errors += 1
                    log.exception("supervisor pass failed")
                wait = min(self.tick_s, self._next_heartbeat - self.clock.monotonic())
                self._wake.wait(max(0.0, wait))
                self._wake.clear()
        finally:
            self.close_devices()

    def step(self) -> None:
        """One pass: birth if (re)connected, poll every device, then events, state and heartbeat as due."""
        now, mono = self.clock.now(), self.clock.monotonic()
        if self._connected.is_set():
            self._connected.clear()
            self._announce(now)
            # The hub learns the current states right after every birth, not only at the next change.
            self._last_states = None
        if self.roster is not None:
            self.roster.apply_pending()
            for device in self.devices:
                if isinstance(device.driver, RosterUser):
                    device.driver.use_roster(self.roster.roster)
        states = [device.poll(now, mono) for device in self.devices]
        if self.calendar is not None:
            rooms = {device.id: device.driver.config.room for device in self.devices}
            states = self.calendar.requirements(states, rooms, now)
        if self._announced is not None and self._inventory() != self._announced:
            self._announce(now)
        for device in self.devices:
            for event in device.events():
                if self._event(device.id, event):
                    self._snapshot(device, event)
        changed = states != self._last_states
        if states and (changed or mono >= self._last_state_mono + self.config.agent.state_interval_s):
            self._deliver(
                "state",
                State(agent=self.agent_id, boot=self.boot, seq=self._next_seq(), ts=now, devices=states),
                periodic=not changed,
            )
            self.counters.states += 1
            self._last_states = states
            self._last_state_mono = mono
        if mono >= self._next_heartbeat:
            self._deliver("heartbeat", self._heartbeat(now, mono), periodic=True)
            self.counters.heartbeats += 1
            self._next_heartbeat += self.config.agent.heartbeat_s
            if self._next_heartbeat <= mono:
                # After a stall, resume the rhythm instead of sending the missed heartbeats in a burst.
                self._next_heartbeat = mono + self.config.agent.heartbeat_s

    def _heartbeat(self, now: datetime, mono: float) -> Heartbeat:
        depth, oldest_s, capacity = 0, None, None
        if self.outbox_stats is not None:
            stats = self.outbox_stats()
            depth, capacity = stats.depth, stats.capacity
            if stats.oldest_created is not None:
                oldest_s = max(0.0, now.timestamp() - stats.oldest_created)
        return Heartbeat(
            agent=self.agent_id,
            boot=self.boot,
            seq=self._next_seq(),
            ts=now,
            uptime_s=max(0.0, mono - self._started_mono),
            outbox_depth=depth,
            outbox_oldest_s=oldest_s,
            outbox_capacity=capacity,
            calendar_version=None if self.calendar is None else self.calendar.version or NO_CALENDAR,
        )

    def _thinned(self, report: Thinned) -> None:
        """Readings dropped to keep the outbox within its bound: the hub must see the gap, not guess it."""
        self.counters.thinned += report.count
        log.warning(
            "outbox full: thinned %d periodic readings, seq %d-%d of boot %s",
            report.count,
            report.first_seq,
            report.last_seq,
            report.boot,
        )
        happened = DriverEvent(
            name="outbox.thinned",
            severity="warning",
            at=self.clock.now(),
            details={
                "boot": report.boot,
                "first_seq": report.first_seq,
                "last_seq": report.last_seq,
                "count": report.count,
                "from": datetime.fromtimestamp(report.first_created, UTC).isoformat(),
                "to": datetime.fromtimestamp(report.last_created, UTC).isoformat(),
            },
        )
        self._event(None, happened)

    def _inventory(self) -> list[DeviceInfo]:
        return [device.info() for device in self.devices]

    def _announce(self, now: datetime) -> None:
        """Send the birth: the latest one again, or a fresh one under the next seq if the inventory moved."""
        devices = self._inventory()
        if self._announced is not None and devices != self._announced:
            self._birth_seq = self._next_seq()
            log.info("inventory changed: fresh birth, seq %d of boot %s", self._birth_seq, self.boot)
        self._announced = devices
        self.counters.births += 1
        birth = Birth(
            agent=self.agent_id,
            boot=self.boot,
            seq=self._birth_seq,
            ts=now,
            sw_version=self.sw_version,
            started_at=self.started_at,
            heartbeat_s=self.config.agent.heartbeat_s,
            devices=devices,
        )
        self._deliver("birth", birth)

    def _snapshot(self, device: DeviceSlot, happened: DriverEvent) -> None:
        """Send the picture an event names right after it, so the hub can show it with the event."""
        sha = happened.details.get("snapshot")
        if not isinstance(sha, str):
            return
        picture = device.take_snapshot(sha)
        if picture is None:
            self.counters.snapshots_missing += 1
            log.warning("device %s: snapshot %s of %s is no longer held", device.id, sha[:12], happened.name)
            return
        try:
            message = checked(
                Snapshot(
                    agent=self.agent_id,
                    boot=self.boot,
                    seq=self._seq + 1,
                    ts=happened.at,
                    device=device.id,
                    sha256=picture.sha256,
                    width=picture.width,
                    height=picture.height,
                    data=base64.b64encode(picture.jpeg).decode("ascii"),
                )
            )
        except ValueError as exc:
            # Snapshot's own checks (JPEG, hash) raise ValueError as it is built; checked() raises
            # msgspec.ValidationError, a ValueError, for the rest.
            self.counters.snapshots_missing += 1
            log.warning("device %s: snapshot %s cannot be sent: %s", device.id, sha[:12], exc)
            return
        self._seq += 1
        self._deliver("snapshot", message)
        self.counters.snapshots += 1

    def _event(self, device: str | None, happened: DriverEvent) -> bool:
        try:
            event = checked(
                Event(
                    agent=self.agent_id,
                    boot=self.boot,
                    seq=self._seq + 1,
                    ts=happened.at,
                    name=happened.name,
                    severity=happened.severity,
                    device=device,
                    details=happened.details,
                )
            )
        except msgspec.ValidationError as exc:
            # Checked before taking a seq, so a rejected event leaves no gap the hub would count as loss.
            self.counters.bad_events += 1
            log.warning("device %s produced an invalid event %r: %s", device, happened.name, exc)
            return False
        self._seq += 1
        self._deliver("event", event)
        self.counters.events += 1
        return True

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _deliver(self, kind: Kind, message: AgentMessage, *, periodic: bool = False) -> None:
        for report in self.sink.send(topic_for(self.config.agent.path, kind), message, periodic=periodic):
            self._thinned(report)
