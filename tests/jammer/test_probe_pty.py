"""The at-probe driver against the pty modem simulator: verdicts and how long they take.

Short windows (0.5 s, a cycle every 50 ms) keep these to seconds; the timing asserted is the judge's
(a full window before "suppressed"), with slack for a loaded machine.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.drivers.probe.driver import CellProbe, CellProbeConfig
from agent.errors import DriverError
from agent.simulators.modem import ModemSimulator
from protocol.messages import DeviceState
from protocol.validation import convert

WINDOW = 0.5
SLACK = 1.5


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def probe_on() -> Iterator[Callable[..., CellProbe]]:
    made: list[CellProbe] = []

    def make(modem: ModemSimulator, **keys: Any) -> CellProbe:
        config = convert(
            {
                "id": "probe-101",
                "room": "101",
                "port": modem.path,
                "interval_s": 0.05,
                "reply_timeout_s": 0.1,
                "window_s": WINDOW,
                **keys,
            },
            CellProbeConfig,
        )
        probe = CellProbe(config)
        probe.start()
        made.append(probe)
        return probe

    yield make
    for probe in made:
        probe.close()


@pytest.fixture
def modem() -> Iterator[ModemSimulator]:
    with ModemSimulator("normal") as sim:
        yield sim


def wait_for(probe: CellProbe, predicate: Callable[[DeviceState], bool], timeout: float) -> tuple[float, DeviceState]:
    began = time.monotonic()
    seen = []
    while time.monotonic() - began < timeout:
        state = probe.poll(now())
        if predicate(state):
            return time.monotonic() - began, state
        seen.append(state.details.get("reason"))
        time.sleep(0.02)
    raise AssertionError(f"no matching state within {timeout} s; reasons seen: {sorted(set(map(str, seen)))}")


def verdict(name: str) -> Callable[[DeviceState], bool]:
    return lambda state: state.details["verdict"] == name


def test_normal_then_jammed_then_normal(modem: ModemSimulator, probe_on: Callable[..., CellProbe]) -> None:
    probe = probe_on(modem)
    first, state = wait_for(probe, verdict("not_suppressed"), WINDOW + SLACK)
    assert first >= WINDOW * 0.8  # not before a full window of evidence
    assert (state.status, state.details["registered"], state.details["rsrp_dbm"]) == ("ok", True, -85)
    modem.set_state("jammed")
    took, state = wait_for(probe, verdict("suppressed"), WINDOW + SLACK)
    assert took >= WINDOW * 0.8
    assert state.details == {
        "verdict": "suppressed",
        "reason": "not registered, no usable signal",
        "registered": False,
        "rsrp_dbm": None,
        "port": modem.path,
        "hotplug": state.details["hotplug"],
    }
    assert state.details["hotplug"] in ("udev", "paths")
    modem.set_state("normal")
    back, _ = wait_for(probe, verdict("not_suppressed"), WINDOW + SLACK)
    assert back < took + SLACK  # half a window of service is enough to raise the alarm
    events = probe.events()
    assert {e.name for e in events} == {"probe.verdict"}
    # A cycle that straddles the switch mixes both states' answers ("unclear"), which may show as a
    # short "unknown" between the two verdicts.
    decided = [e.details["to"] for e in events if e.details["to"] != "unknown"]
    assert decided == ["not_suppressed", "suppressed", "not_suppressed"]


def test_unsolicited_lines_and_echo_do_not_confuse_it(probe_on: Callable[..., CellProbe]) -> None:
    with ModemSimulator("jammed", urc=True, echo=True) as noisy:
        probe = probe_on(noisy)
        _, state = wait_for(probe, verdict("suppressed"), WINDOW + SLACK)
        assert state.details["registered"] is False
        assert noisy.commands[:2] == ["ATE0", "AT+CEREG?"]


def test_transition_is_never_taken_for_suppression(modem: ModemSimulator, probe_on: Callable[..., CellProbe]) -> None:
    probe = probe_on(modem)
    wait_for(probe, verdict("not_suppressed"), WINDOW + SLACK)
    modem.set_state("transition")  # registered, RSRP collapsed, CSQ strong
    _, state = wait_for(probe, verdict("unknown"), WINDOW + SLACK)
    assert (state.status, state.details["reason"], state.details["registered"]) == (
        "warning",
        "readings unclear",
        True,
    )
    time.sleep(WINDOW)
    assert probe.poll(now()).details["verdict"] == "unknown"


def test_a_modem_answering_error(modem: ModemSimulator, probe_on: Callable[..., CellProbe]) -> None:
    modem.set_state("error")
    probe = probe_on(modem)
    _, state = wait_for(probe, lambda s: s.details["reason"] == "modem answers ERROR", WINDOW + SLACK)
    assert (state.status, state.details["verdict"]) == ("warning", "unknown")


def test_a_silent_modem_is_a_fault_and_is_not_asked_everything(
    modem: ModemSimulator, probe_on: Callable[..., CellProbe]
) -> None:
    probe = probe_on(modem, stale_after_s=0.3)
    wait_for(probe, verdict("not_suppressed"), WINDOW + SLACK)
    modem.set_state("silent")
    asked = len(modem.commands)
    took, state = wait_for(probe, lambda s: s.details["reason"] == "modem not answering", 0.3 + SLACK)
    assert took >= 0.2
    assert (state.status, state.details["verdict"]) == ("fault", "unknown")
    # Each silent cycle asks once, not five times.
    assert set(modem.commands[asked + 1 :]) == {"AT+CEREG?"}
    modem.set_state("normal")
    wait_for(probe, verdict("not_suppressed"), WINDOW + SLACK)


def test_of_a_modems_several_ports_the_one_answering_at_is_used(
    probe_on: Callable[..., CellProbe], tmp_path: Path
) -> None:
    """A modem's diagnostic port comes first and answers nothing: the probe moves on to its AT port, stays
    there, and goes back to the first only when the AT port falls silent too."""
    with ModemSimulator("silent") as diag, ModemSimulator("normal") as at:
        assert diag.path is not None
        assert at.path is not None
        (tmp_path / "modem-if00").symlink_to(diag.path)
        (tmp_path / "modem-if02").symlink_to(at.path)
        probe = probe_on(at, port=str(tmp_path / "modem-if0*"))
        _, state = wait_for(probe, verdict("not_suppressed"), WINDOW + SLACK)
        assert state.details["port"] == str(tmp_path / "modem-if02")
        assert diag.commands, "the first port was tried"
        tried = len(diag.commands)
        time.sleep(0.5)  # ten cycles
        assert probe.poll(now()).details["port"] == str(tmp_path / "modem-if02"), "it stays on the AT port"
        assert len(diag.commands) == tried, "and leaves the silent one alone"
        at.set_state("silent")
        wait_for(probe, lambda s: s.details["port"] == str(tmp_path / "modem-if00"), SLACK)


def test_the_modem_vanishing_is_reported_not_a_crash(probe_on: Callable[..., CellProbe]) -> None:
    sim = ModemSimulator("normal")
    probe = probe_on(sim, reopen_after_s=0.1)
    wait_for(probe, lambda s: s.details["registered"] is True, SLACK)
    sim.close()
    deadline = time.monotonic() + SLACK
    seen: list[str] = []
    state: DeviceState | None = None
    while time.monotonic() < deadline:
        try:
            state = probe.poll(now())
        except DriverError as exc:  # the failed read, before the port is found gone
            seen.append(str(exc))
        if state is not None and state.status == "offline":
            break
        time.sleep(0.02)
    assert all(sim.path in error for error in seen), seen
    assert state is not None
    assert state.status == "offline", "the vanished pty is an absent modem"
    assert (state.details["verdict"], state.details["reason"]) == ("unknown", "modem absent")
    probe.close()
    probe.close()


def test_a_missing_port_reads_offline_and_a_bad_url_fails_cleanly() -> None:
    probe = CellProbe(CellProbeConfig(id="probe-x", port="/dev/nonexistent-modem", find_interval_s=0.05))
    with pytest.raises(DriverError, match="polled before start"):
        probe.poll(now())
    probe.start()
    try:
        deadline = time.monotonic() + SLACK
        state = probe.poll(now())
        while state.details["error"] != "no candidate port present" and time.monotonic() < deadline:
            time.sleep(0.02)
            state = probe.poll(now())
        assert state.status == "offline"
        assert state.details["error"] == "no candidate port present"
    finally:
        probe.close()
    url = CellProbe(CellProbeConfig(id="probe-y", port="socket://127.0.0.1:1"))
    with pytest.raises(DriverError, match=r"cannot open socket://127\.0\.0\.1:1"):
        url.start()
    url.close()
