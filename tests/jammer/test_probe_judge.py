"""The probe's judge over explicit times: verdicts, their timing, and the hysteresis between them."""

from __future__ import annotations

from agent.drivers.probe.at import Csq, Operator, Registration, SignalQuality
from agent.drivers.probe.judge import Judge, JudgePolicy, Sample, classify, sample_from

POLICY = JudgePolicy(window_s=60.0, service_share=0.5, stale_s=15.0)
SERVICE = dict(answered=True, registered=True, rsrp_dbm=-85.0, rsrq_db=-6.0)
JAMMED = dict(answered=True, registered=False, rsrp_dbm=None, rsrq_db=None)
WEAK = dict(answered=True, registered=True, rsrp_dbm=-131.0, rsrq_db=-19.0, rssi_dbm=-65.0)
SILENT = dict(answered=False)


def feed(judge: Judge, start: float, end: float, kind: dict[str, object], step: float = 5.0) -> list[tuple[float, str]]:
    """Add a sample every ``step`` s in [start, end) and record the verdict after each."""
    out = []
    t = start
    while t < end:
        judge.add(Sample(at=t, **kind))  # type: ignore[arg-type]
        out.append((t, judge.verdict(t).verdict))
        t += step
    return out


def first(trace: list[tuple[float, str]], verdict: str) -> float:
    return next(t for t, v in trace if v == verdict)


def test_samples_are_classed_by_registration_and_signal_never_by_csq_alone() -> None:
    assert classify(Sample(0, **SERVICE), POLICY) == "service"  # type: ignore[arg-type]
    assert classify(Sample(0, **JAMMED), POLICY) == "no_service"  # type: ignore[arg-type]
    # Registered, CSQ strong, RSRP/RSRQ collapsed: not usable service, not proof of suppression either.
    assert classify(Sample(0, **WEAK), POLICY) == "unclear"  # type: ignore[arg-type]
    assert classify(Sample(0, answered=True, registered=False, rsrp_dbm=-80.0), POLICY) == "unclear"
    assert classify(Sample(0, answered=True, registered=True), POLICY) == "unclear"
    assert classify(Sample(0, answered=True, errors_only=True), POLICY) == "unclear"


def test_a_sample_takes_the_latest_word_of_each_source() -> None:
    sample = sample_from(
        1.0,
        [
            Registration("eps", 1, solicited=True),
            Registration("5gs", 0, solicited=True),
            Operator("CHINA MOBILE", 7),
            SignalQuality(-6.0, -85.0),
            Csq(-69.0),
            Registration("eps", 2, solicited=False),  # a URC after the reply: lost service
        ],
        answered=True,
        errors_only=False,
    )
    assert (sample.registered, sample.rsrp_dbm, sample.rssi_dbm) == (True, -85.0, -69.0)  # COPS still says registered
    lost = sample_from(
        1.0, [Registration("eps", 2, solicited=False), Operator(None, None)], answered=True, errors_only=False
    )
    assert lost.registered is False


def test_first_verdict_after_one_full_window() -> None:
    trace = feed(Judge(POLICY), 0, 100, SERVICE)
    assert first(trace, "not_suppressed") == 60.0
    young = Judge(POLICY)
    feed(young, 0, 56, SERVICE)
    assert young.verdict(55.0).reason == "warming up"


def test_jammer_on_reads_suppressed_one_window_after_the_last_service() -> None:
    judge = Judge(POLICY)
    feed(judge, 0, 100, SERVICE)
    trace = feed(judge, 100, 200, JAMMED)
    # The last "service" sample was at 95 s: the window is all no_service from 155 s on (samples after 95).
    assert [v for t, v in trace if t < 155] == ["not_suppressed"] * 11
    assert first(trace, "suppressed") == 155.0


def test_jammer_off_reads_not_suppressed_after_the_service_share_of_a_window() -> None:
    judge = Judge(POLICY)
    feed(judge, 0, 100, JAMMED)
    assert judge.verdict(95.0).verdict == "suppressed"
    trace = feed(judge, 100, 200, SERVICE)
    # Half of the 12 samples in the window must be service: the 6th service sample is at 125 s.
    assert first(trace, "not_suppressed") == 125.0
    assert all(v == "suppressed" for t, v in trace if t < 125)


def test_a_transition_holds_the_previous_verdict_then_lets_go() -> None:
    judge = Judge(POLICY)
    feed(judge, 0, 100, SERVICE)
    trace = feed(judge, 100, 200, WEAK)
    # While a service sample is still in the window the verdict holds; then nothing is certain.
    assert first(trace, "unknown") == 155.0
    assert judge.verdict(195.0).reason == "readings unclear"


def test_a_silent_modem_makes_the_verdict_unknown_and_the_window_start_again() -> None:
    judge = Judge(POLICY)
    feed(judge, 0, 100, JAMMED)
    trace = feed(judge, 100, 130, SILENT)
    # Last answer at 95 s; stale after 15 s.
    assert first(trace, "unknown") == 115.0
    assert judge.verdict(125.0).reason == "modem not answering"
    again = feed(judge, 130, 250, JAMMED)
    assert first(again, "suppressed") == 190.0


def test_errors_only_is_its_own_reason() -> None:
    judge = Judge(POLICY)
    feed(judge, 0, 100, dict(answered=True, errors_only=True))
    assert (judge.verdict(95.0).verdict, judge.verdict(95.0).reason) == ("unknown", "modem answers ERROR")
    assert Judge(POLICY).verdict(0.0).reason == "no reading yet"
