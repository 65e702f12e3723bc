"""From a modem's answers to a verdict: is this room's mobile signal suppressed?

Each query cycle becomes a :class:`Sample`, classed as

    service     registered (+CEREG / +C5GREG / +COPS) with usable RSRP (and RSRQ, when known)
    no_service  not registered, and RSRP unknown or below ``rsrp_dead_dbm``
    unclear     anything else: registered but weak or unmeasured, unregistered with a strong cell,
                an ERROR, no answer.  +CSQ is recorded but never decides: it reports energy, which a
                jammer itself provides.

The :class:`Judge` decides over the last ``window_s`` seconds, once it has watched that long:
"suppressed" when every sample is no_service; "not_suppressed" when at least ``service_share`` of them
are service.  A mixed window keeps the previous verdict while it still has a sample of that verdict's
class (the hysteresis that carries a room through a jammer warming up or a modem re-registering);
otherwise it is "unknown".  So a jammer switched on reads "suppressed" after one full window, and one
switched off reads "not_suppressed" after ``service_share`` of a window.  No I/O, no clock: times are
passed in.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from agent.drivers.probe.at import Csq, Observation, Operator, Registration, SignalQuality

SampleClass = Literal["service", "no_service", "unclear"]
VerdictName = Literal["suppressed", "not_suppressed", "unknown"]


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    # The modem answered at least one command in the cycle.
    answered: bool
    # ... but only with errors (no SIM, a command it does not know, a modem in trouble).
    errors_only: bool = False
    registered: bool | None = None
    rsrp_dbm: float | None = None
    rsrq_db: float | None = None
    rssi_dbm: float | None = None


def sample_from(at: float, observations: Sequence[Observation], *, answered: bool, errors_only: bool) -> Sample:
    """One cycle's sample; later observations override earlier ones of the same source (a URC after a reply)."""
    registrations: dict[str, bool] = {}
    signal: SignalQuality | None = None
    csq: Csq | None = None
    for item in observations:
        if isinstance(item, Registration):
            registrations[item.rat] = item.registered
        elif isinstance(item, Operator):
            registrations["cops"] = item.registered
        elif isinstance(item, SignalQuality):
            signal = item
        else:
            csq = item
    states = list(registrations.values())
    return Sample(
        at=at,
        answered=answered,
        errors_only=errors_only,
        registered=True if any(states) else False if states else None,
        rsrp_dbm=None if signal is None else signal.best_rsrp_dbm,
        rsrq_db=None if signal is None else signal.best_rsrq_db,
        rssi_dbm=None if csq is None else csq.rssi_dbm,
    )


@dataclass(frozen=True, slots=True)
class JudgePolicy:
    window_s: float = 60.0
    service_share: float = 0.5
    rsrp_usable_dbm: float = -115.0
    rsrq_usable_db: float = -15.0
    rsrp_dead_dbm: float = -125.0
    # With no answer for this long the modem is "not answering" and the window starts again.
    stale_s: float = 15.0


@dataclass(frozen=True, slots=True)
class Verdict:
    verdict: VerdictName
    # A fixed phrase (no numbers), so the device's state changes only when the verdict does.
    reason: str


def classify(sample: Sample, policy: JudgePolicy) -> SampleClass:
    if not sample.answered or sample.errors_only:
        return "unclear"
    rsrp, rsrq = sample.rsrp_dbm, sample.rsrq_db
    if (
        sample.registered
        and rsrp is not None
        and rsrp >= policy.rsrp_usable_dbm
        and (rsrq is None or rsrq >= policy.rsrq_usable_db)
    ):
        return "service"
    if sample.registered is False and (rsrp is None or rsrp < policy.rsrp_dead_dbm):
        return "no_service"
    return "unclear"


class Judge:
    def __init__(self, policy: JudgePolicy) -> None:
        self.policy = policy
        self._samples: deque[Sample] = deque()
        self._last_answer: float | None = None
        # When the current unbroken run of answers began: a verdict needs a full window of it.
        self._since: float | None = None
        self._decided: VerdictName | None = None

    def add(self, sample: Sample) -> None:
        if sample.answered:
            gap = self._last_answer is None or sample.at - self._last_answer > self.policy.stale_s
            if gap:
                self._since = sample.at
            self._last_answer = sample.at
        self._samples.append(sample)
        while self._samples and self._samples[0].at <= sample.at - self.policy.window_s:
            self._samples.popleft()

    def verdict(self, now: float) -> Verdict:
        p = self.policy
        if self._last_answer is None or now - self._last_answer > p.stale_s:
            self._decided = None
            return Verdict("unknown", "modem not answering" if self._samples else "no reading yet")
        window = [s for s in self._samples if s.at > now - p.window_s]
        answers = [s for s in window if s.answered]
        if answers and all(s.errors_only for s in answers):
            self._decided = None
            return Verdict("unknown", "modem answers ERROR")
        if self._since is None or now - self._since < p.window_s:
            return self._keep("warming up")
        classes = [classify(s, p) for s in window]
        if classes and all(c == "no_service" for c in classes):
            self._decided = "suppressed"
        elif classes and classes.count("service") / len(classes) >= p.service_share:
            self._decided = "not_suppressed"
        elif not (self._decided == "suppressed" and "no_service" in classes) and not (
            self._decided == "not_suppressed" and "service" in classes
        ):
            self._decided = None
        return self._keep("readings unclear")

    def _keep(self, otherwise: str) -> Verdict:
        if self._decided == "suppressed":
            return Verdict("suppressed", "not registered, no usable signal")
        if self._decided == "not_suppressed":
            return Verdict("not_suppressed", "registered with usable signal")
        return Verdict("unknown", otherwise)
