"""``at-probe``: a cellular modem in the exam room, asked every ``interval_s`` whether it has service.

The modem's port is found like an ID-card reader's: ``port`` (a path or glob, matched against device nodes and
udev links such as ``/dev/serial/by-id/…``) and/or ``usb_ids`` make a rule, and the worker opens the first
port the rule accepts (:mod:`agent.drivers.serial_hotplug`).  A modem has several ttys (an EC25's diagnostic,
NMEA, AT and PPP interfaces share one USB id): a port that answers no AT command while the rule accepts others
is left for the next, and comes last until every one has been tried.  With udev, plugging the modem in brings
the probe up at once and unplugging it makes the device "offline"; without udev the paths are looked at again
every ``find_interval_s``.  A pyserial URL (``socket://…``, ``rfc2217://…``) is opened as given, with no
finding.

A worker thread owns the serial port: each cycle it asks +CEREG?, +C5GREG?, +COPS?, +CESQ and +CSQ (each
bounded by ``reply_timeout_s``; a modem that does not answer the first is not asked the rest), listens
for unsolicited lines until the next cycle, and hands one sample to the :class:`~agent.drivers.probe.judge.Judge`.
:meth:`CellProbe.poll` only reads the judge, so it never waits on the modem.  A port that fails is closed
and reopened every ``reopen_after_s``; meanwhile ``poll`` raises, and the device reads "fault".
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Final, Literal

import msgspec
from msgspec import Meta

from agent.drivers.base import DeviceConfig, Driver, DriverEvent
from agent.drivers.probe.at import ATSession, Observation, Reply, Unsolicited, decode
from agent.drivers.probe.judge import Judge, JudgePolicy, Sample, Verdict, sample_from
from agent.drivers.probe.serial_io import ProbePort, ProbePortError
from agent.drivers.serial_hotplug import CandidateRule, TtyFinder
from agent.errors import DriverError
from protocol.messages import DeviceState, DeviceStatus, Scalar
from protocol.validation import full

log = logging.getLogger("sitewatch.agent.probe")

INIT: Final = ("ATE0",)
QUERIES: Final = ("AT+CEREG?", "AT+C5GREG?", "AT+COPS?", "AT+CESQ", "AT+CSQ")
RSRP_STEP_DB: Final = 5
_STATUS: Final[dict[str, DeviceStatus]] = {
    "modem not answering": "fault",
    "modem answers ERROR": "warning",
    "readings unclear": "warning",
}


UsbId = Annotated[str, full(r"^[0-9a-f]{4}:[0-9a-f]{4}$")]
ABSENT: Final = "modem absent"


class CellProbeConfig(DeviceConfig, frozen=True, kw_only=True):
    driver: Literal["at-probe"] = "at-probe"
    # The modem's AT port: /dev/ttyUSB2, a glob such as /dev/serial/by-id/usb-Quectel_*-if02*, or a pyserial URL.
    port: Annotated[str, Meta(min_length=1, max_length=256)] | None = None
    # USB vendor:product ids that make a tty a candidate (e.g. "2c7c:0125", a Quectel EC25).
    usb_ids: Annotated[list[UsbId], Meta(max_length=32)] = msgspec.field(default_factory=list)
    hotplug: bool = True
    find_interval_s: Annotated[float, Meta(ge=0.01, le=60)] = 1.0
    baudrate: Annotated[int, Meta(ge=1200, le=4_000_000)] = 115200
    interval_s: Annotated[float, Meta(ge=0.02, le=300)] = 5.0
    reply_timeout_s: Annotated[float, Meta(ge=0.02, le=30)] = 2.0
    window_s: Annotated[float, Meta(ge=0.1, le=3600)] = 60.0
    service_share: Annotated[float, Meta(gt=0, le=1)] = 0.5
    rsrp_usable_dbm: Annotated[float, Meta(ge=-160, le=-40)] = -115.0
    rsrq_usable_db: Annotated[float, Meta(ge=-45, le=0)] = -15.0
    rsrp_dead_dbm: Annotated[float, Meta(ge=-160, le=-40)] = -125.0
    # No answer for this long: "modem not answering".  Default: three cycles.
    stale_after_s: Annotated[float, Meta(gt=0, le=3600)] | None = None
    reopen_after_s: Annotated[float, Meta(ge=0.05, le=600)] = 5.0

    def __post_init__(self) -> None:
        if self.rsrp_dead_dbm > self.rsrp_usable_dbm:
            raise ValueError("rsrp_dead_dbm must not be above rsrp_usable_dbm")
        if self.port is None and not self.usb_ids:
            raise ValueError("a probe needs `port` (a path, glob or pyserial URL) or `usb_ids` to find its modem")
        if self.url is not None and self.usb_ids:
            raise ValueError("`usb_ids` cannot narrow a pyserial URL: give one or the other")

    @property
    def url(self) -> str | None:
        """The port as a pyserial URL, opened as given; None when the port is to be found."""
        return self.port if self.port is not None and "://" in self.port else None

    def rule(self) -> CandidateRule:
        return CandidateRule(ports=(self.port,) if self.port else (), usb_ids=tuple(self.usb_ids))

    def policy(self) -> JudgePolicy:
        cycle = self.interval_s + len(QUERIES) * self.reply_timeout_s
        return JudgePolicy(
            window_s=self.window_s,
            service_share=self.service_share,
            rsrp_usable_dbm=self.rsrp_usable_dbm,
            rsrq_usable_db=self.rsrq_usable_db,
            rsrp_dead_dbm=self.rsrp_dead_dbm,
            stale_s=self.stale_after_s if self.stale_after_s is not None else max(3 * self.interval_s, cycle),
        )


class CellProbe(Driver[CellProbeConfig]):
    kind = "probe"

    def __init__(self, config: CellProbeConfig, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(config)
        self._mono = monotonic
        self._lock = threading.Lock()
        self._judge = Judge(config.policy())
        self._last: Sample | None = None
        self._port_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: ProbePort | None = None
        self._session = ATSession()
        self._greeted = False
        self._urcs: list[Observation] = []
        self._verdict: Verdict | None = None
        self._pending: list[DriverEvent] = []
        # Set by udev events (and by close) so a worker waiting for a modem wakes at once.
        self._wake = threading.Event()
        self._finder: TtyFinder | None = None
        self._path: str | None = None
        self._absent: str | None = None
        # Ports of this modem that answered no AT command, tried again only after all the others.
        self._silent: set[str] = set()
        # The port moves logged once a streak (a silent modem with four ttys would log every few seconds).
        self._hunting = False

    # --- the supervisor's side -----------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            return
        url = self.config.url
        if url is not None:
            self._port = ProbePort(url, self.config.baudrate)
            self._path = url
        else:
            rule = self.config.rule()
            self._finder = TtyFinder(rule, hotplug=self.config.hotplug, wake=self._wake, name=f"probe-{self.config.id}")
            self._finder.start()
            self._absent = "looking for the modem"
        self._greeted = False
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"probe-{self.config.id}", daemon=True)
        self._thread.start()

    def poll(self, now: datetime) -> DeviceState:
        if self._thread is None:
            raise DriverError(f"probe {self.config.id} polled before start")
        with self._lock:
            error = self._port_error
            absent = self._absent
            verdict = self._judge.verdict(self._mono())
            last = self._last
        if absent is not None:
            # Unplugged is not broken: "offline", as for a reader that is not there.
            gone: dict[str, Scalar] = {"verdict": "unknown", "reason": ABSENT, "registered": None, "rsrp_dbm": None}
            return self.state("offline", self._where({**gone, "error": absent}))
        if error is not None:
            raise DriverError(error)
        if self._verdict is not None and verdict.verdict != self._verdict.verdict:
            details: dict[str, Scalar] = {
                "from": self._verdict.verdict,
                "to": verdict.verdict,
                "reason": verdict.reason,
            }
            self._pending.append(DriverEvent("probe.verdict", "info", now, details))
        self._verdict = verdict
        rsrp = (
            None if last is None or last.rsrp_dbm is None else int(round(last.rsrp_dbm / RSRP_STEP_DB) * RSRP_STEP_DB)
        )
        return self.state(
            _STATUS.get(verdict.reason, "ok"),
            self._where(
                {
                    "verdict": verdict.verdict,
                    "reason": verdict.reason,
                    "registered": None if last is None else last.registered,
                    # Coarse on purpose: the state goes out on every change.
                    "rsrp_dbm": rsrp,
                }
            ),
        )

    def _where(self, details: dict[str, Scalar]) -> dict[str, Scalar]:
        finder = self._finder
        details["port"] = self._path
        details["hotplug"] = "fixed" if finder is None else finder.mode
        return details

    def events(self) -> list[DriverEvent]:
        drained, self._pending = self._pending, []
        return drained

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=self.config.reply_timeout_s + 2.0)
        port, self._port = self._port, None
        if port is not None:
            port.close()
        finder, self._finder = self._finder, None
        if finder is not None:
            finder.close()

    # --- the worker thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        # Never raises: an exception here would end the thread silently and freeze the verdict.
        while not self._stop.is_set():
            try:
                if self._port is None and not self._attach():
                    continue
                if not self._greeted:
                    self._greet()
                    self._greeted = True
                self._cycle()
            except ProbePortError as exc:
                self._port_failed(str(exc))
            except Exception as exc:  # a bug must not end the probe: report it as the device's error
                log.exception("probe %s: worker failed", self.config.id)
                self._port_failed(f"probe worker failed: {type(exc).__name__}: {exc}")

    def _attach(self) -> bool:
        """Open the configured URL, or the first port the rule accepts; False (after waiting) when none."""
        url = self.config.url
        if url is not None:
            self._port = ProbePort(url, self.config.baudrate)
        else:
            assert self._finder is not None
            found = self._finder.candidates()
            if not found:
                self._set_absent(self._finder.absent_reason())
                self._wake.wait(self.config.find_interval_s)
                self._wake.clear()
                return False
            # One port at a time: a port that fails is retried after reopen_after_s like any failed port.
            untried = [p for p in found if p not in self._silent]
            if not untried:
                self._silent.clear()
            path = (untried or found)[0]
            self._port = ProbePort(path, self.config.baudrate)
            self._path = path
        self._session = ATSession()
        self._greeted = False
        self._set_absent(None)
        self._set_error(None)
        return True

    def _check_unplugged(self) -> None:
        if self._finder is not None and self._path is not None and self._finder.refresh({self._path}):
            raise ProbePortError(f"{self._path}: modem unplugged")

    def _port_failed(self, text: str) -> None:
        self._set_error(text)
        port, self._port = self._port, None
        if port is not None:
            port.close()
        if self._finder is not None and not self._finder.candidates():
            # Gone rather than broken: report it absent now and look for it without the reopen delay.
            self._set_absent(self._finder.absent_reason())
            return
        self._stop.wait(self.config.reopen_after_s)

    def _set_absent(self, reason: str | None) -> None:
        with self._lock:
            if reason is not None and self._absent is None:
                log.warning("probe %s: %s", self.config.id, reason)
            self._absent = reason
            if reason is not None:
                self._path = None

    def _set_error(self, text: str | None) -> None:
        with self._lock:
            if text is not None and text != self._port_error:
                log.warning("probe %s: %s", self.config.id, text)
            self._port_error = text

    def _greet(self) -> None:
        for command in INIT:
            self._ask(command, [])

    def _cycle(self) -> None:
        began = self._mono()
        observations, self._urcs = self._urcs, []
        answered = False
        errors_only = True
        for command in QUERIES:
            reply = self._ask(command, observations)
            if reply is None:
                if not answered:
                    break  # a silent modem: do not wait out every query's timeout
                continue
            answered = True
            if reply.ok:
                errors_only = False
                observations += [o for line in reply.lines if (o := decode(line)) is not None]
        sample = sample_from(began, observations, answered=answered, errors_only=answered and errors_only)
        with self._lock:
            self._judge.add(sample)
            self._last = sample
        if answered:
            self._silent.discard(self._path or "")
            if self._hunting:
                log.info("probe %s: %s answers AT commands", self.config.id, self._path)
                self._hunting = False
        elif self._next_port():
            return
        self._listen_until(began + self.config.interval_s)

    def _next_port(self) -> bool:
        """Leave a port that answered nothing for another the rule accepts; True when there is one."""
        path = self._path
        if self._finder is None or path is None:
            return False
        others = [p for p in self._finder.candidates() if p != path]
        if not others:
            return False  # the modem's only port: a silent modem, as the judge says
        self._silent.add(path)
        if not self._hunting:
            log.info("probe %s: %s answers no AT command; trying %s", self.config.id, path, ", ".join(others))
            self._hunting = True
        port, self._port = self._port, None
        if port is not None:
            port.close()
        return True

    def _ask(self, command: str, observations: list[Observation]) -> Reply | None:
        port = self._port
        assert port is not None
        port.write(self._session.request(command))
        deadline = self._mono() + self.config.reply_timeout_s
        while not self._stop.is_set() and self._mono() < deadline:
            self._check_unplugged()
            for event in self._session.feed(port.read()):
                if isinstance(event, Reply):
                    return event
                self._unsolicited(event, observations)
        self._session.abandon()
        return None

    def _listen_until(self, until: float) -> None:
        port = self._port
        assert port is not None
        while not self._stop.is_set() and self._mono() < until:
            self._check_unplugged()
            for event in self._session.feed(port.read()):
                if isinstance(event, Unsolicited):
                    self._unsolicited(event, self._urcs)

    @staticmethod
    def _unsolicited(event: Unsolicited, into: list[Observation]) -> None:
        observation = decode(event.line)
        if observation is not None:
            into.append(observation)
