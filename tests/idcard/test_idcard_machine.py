"""The reader state machine on plain data: outcomes in, actions, states, happenings and counters out."""

from __future__ import annotations

import pytest

from agent.drivers.idcard.commands import Command
from agent.drivers.idcard.frames import Response
from agent.drivers.idcard.machine import (
    Answered,
    CardRead,
    FaultBegan,
    FaultEnded,
    Garbled,
    Identified,
    Outcome,
    ReaderMachine,
    ReadFailed,
    Release,
    Send,
    TimedOut,
    Timing,
    Wait,
)
from agent.drivers.idcard.replies import encode_sam_id, join_read
from agent.drivers.idcard.status import Sw3

T = Timing(timeout_s=0.5, read_timeout_s=2.0, find_interval_s=0.25, status_interval_s=10.0, retry_s=2.0, max_failures=3)
SAM = encode_sam_id(5, 1, 20240517, 1, 2)
SAM_ID = "05.01-20240517-0000000001-0000000002"


def ok(sw3: int = Sw3.OK, data: bytes = b"") -> Answered:
    return Answered(Response(0, 0, sw3, data))


class Run:
    """Drives a machine: ``expect`` checks what it wants sent next, ``give`` answers it."""

    def __init__(self, pin: str | None = None) -> None:
        self.m = ReaderMachine(T, pin)
        self.t = 100.0

    def expect(self, command: Command) -> Send:
        action = self.m.next_action(self.t)
        if isinstance(action, Wait):
            self.t = action.until
            action = self.m.next_action(self.t)
        assert isinstance(action, Send), action
        assert action.command is command, (action.command, self.m.state)
        return action

    def give(self, command: Command, outcome: Outcome, took: float = 0.01) -> list[object]:
        self.expect(command)
        self.t += took
        return list(self.m.outcome(command, outcome, self.t))

    def ready(self) -> None:
        self.m.attached(self.t)
        assert self.give(Command.SAM_STATUS, ok()) == []
        assert self.give(Command.SAM_ID, ok(data=SAM)) == [Identified(SAM_ID)]
        assert self.m.state == "ready"


def test_a_port_becomes_a_reader_only_after_sam_status_then_id() -> None:
    run = Run()
    assert run.m.state == "absent"
    assert isinstance(run.m.next_action(run.t), Wait)
    run.m.attached(run.t)
    assert run.m.state == "probing"
    run.ready()
    assert run.m.sam_id == SAM_ID
    assert run.m.health.sw3 == {Sw3.OK: 2}
    assert run.m.health.last_ok == run.t


def test_a_port_that_never_answers_is_released_not_faulted() -> None:
    run = Run()
    run.m.attached(run.t)
    for _ in range(3):
        run.give(Command.SAM_STATUS, TimedOut(), took=0.5)
    action = run.m.next_action(run.t)
    assert isinstance(action, Release)
    assert "no SAM reader answered" in action.reason
    assert run.m.state == "absent"
    assert run.m.health.timeouts == 3


def test_a_reader_with_another_sam_is_released() -> None:
    run = Run(pin="05.01-20240517-0000000009-0000000009")
    run.m.attached(run.t)
    run.give(Command.SAM_STATUS, ok())
    assert run.give(Command.SAM_ID, ok(data=SAM)) == []
    action = run.m.next_action(run.t)
    assert isinstance(action, Release)
    assert "is not this device's reader" in action.reason


def test_one_card_is_one_read_and_the_machine_waits_for_its_removal() -> None:
    run = Run()
    run.ready()
    run.give(Command.FIND, ok(Sw3.NO_CARD))
    assert run.m.state == "ready"
    run.give(Command.FIND, ok(Sw3.CARD_FOUND))
    assert run.m.state == "card_present"
    run.give(Command.SELECT, ok(data=bytes(8)))
    assert run.m.state == "reading"
    send = run.expect(Command.READ)
    assert send.timeout_s == T.read_timeout_s
    [read] = run.give(Command.READ, ok(data=join_read(bytes(256), bytes(1024))), took=0.12)
    assert isinstance(read, CardRead)
    # From the find that saw the card to the end of the read: select (0.01) and read (0.12).
    assert read.latency_s == pytest.approx(0.13, abs=1e-6)
    assert run.m.state == "waiting_removal"
    run.give(Command.FIND, ok(Sw3.CARD_FOUND))
    assert run.m.state == "waiting_removal"
    run.give(Command.FIND, ok(Sw3.NO_CARD))
    assert run.m.state == "ready"
    h = run.m.health
    assert (h.reads_ok, h.reads_failed, h.read_s_max) == (1, 0, read.latency_s)


def test_finds_are_spaced_and_sam_status_is_checked_now_and_then() -> None:
    run = Run()
    run.ready()
    start = run.t
    run.give(Command.FIND, ok(Sw3.NO_CARD))
    action = run.m.next_action(run.t)
    assert isinstance(action, Wait)
    assert action.until == pytest.approx(run.t + T.find_interval_s)
    run.t = start + T.status_interval_s
    run.expect(Command.SAM_STATUS)


@pytest.mark.parametrize(("sw3", "after"), [(Sw3.READ_FAILED, "waiting_removal"), (Sw3.NO_CARD, "ready")])
def test_a_failed_read_reports_its_code(sw3: int, after: str) -> None:
    run = Run()
    run.ready()
    run.give(Command.FIND, ok(Sw3.CARD_FOUND))
    run.give(Command.SELECT, ok())
    [failed] = run.give(Command.READ, ok(sw3))
    assert isinstance(failed, ReadFailed)
    assert failed.code == f"{sw3:02x}"
    assert run.m.state == after
    assert run.m.health.reads_failed == 1
    assert run.m.health.sw3[sw3] == 1


def test_a_card_taken_away_before_select_is_no_read_at_all() -> None:
    run = Run()
    run.ready()
    run.give(Command.FIND, ok(Sw3.CARD_FOUND))
    assert run.give(Command.SELECT, ok(Sw3.NO_CARD)) == []
    assert run.m.state == "ready"
    assert run.m.health.reads_failed == 0


def test_a_read_that_times_out_is_a_failed_read_and_a_counted_timeout() -> None:
    run = Run()
    run.ready()
    run.give(Command.FIND, ok(Sw3.CARD_FOUND))
    run.give(Command.SELECT, ok())
    [failed] = run.give(Command.READ, TimedOut(), took=2.0)
    assert failed == ReadFailed("timeout", pytest.approx(2.01))
    assert run.m.state == "waiting_removal"
    assert run.m.health.timeouts == 1


def test_sam_self_test_failure_faults_at_once_and_recovers() -> None:
    run = Run()
    run.ready()
    [fault] = run.give(Command.FIND, ok(Sw3.SAM_SELF_TEST_FAILED))
    assert fault == FaultBegan("SAM: SAM self-test failed (SW3 60)")
    assert run.m.state == "fault"
    action = run.m.next_action(run.t)
    assert isinstance(action, Wait)
    assert action.until == pytest.approx(run.t + T.retry_s)
    assert run.give(Command.SAM_STATUS, ok(Sw3.SAM_SELF_TEST_FAILED)) == []  # still failing: reported once
    assert run.give(Command.SAM_STATUS, ok()) == []
    assert run.give(Command.SAM_ID, ok(data=SAM)) == [FaultEnded()]
    assert run.m.state == "ready"
    assert run.m.fault_reason is None


def test_a_known_reader_that_falls_silent_faults_after_max_failures_and_recovers() -> None:
    run = Run()
    run.ready()
    assert run.give(Command.FIND, TimedOut(), took=0.5) == []
    assert run.give(Command.FIND, Garbled("checksum"), took=0.01) == []
    [fault] = run.give(Command.FIND, TimedOut(), took=0.5)
    assert isinstance(fault, FaultBegan)
    assert "3 × timeout in a row" in fault.reason
    assert (run.m.health.timeouts, run.m.health.checksum_errors) == (2, 1)
    run.give(Command.SAM_STATUS, TimedOut(), took=0.5)
    assert run.m.state == "fault"
    run.give(Command.SAM_STATUS, ok())
    assert run.give(Command.SAM_ID, ok(data=SAM)) == [FaultEnded()]


def test_one_answer_resets_the_failure_streak() -> None:
    run = Run()
    run.ready()
    for _ in range(5):
        run.give(Command.FIND, TimedOut(), took=0.5)
        run.give(Command.FIND, TimedOut(), took=0.5)
        run.give(Command.FIND, ok(Sw3.NO_CARD))
    assert run.m.state == "ready"
    assert run.m.health.timeouts == 10


def test_garbled_lengths_are_counted_apart_from_checksums() -> None:
    run = Run()
    run.ready()
    run.give(Command.FIND, Garbled("length"))
    assert (run.m.health.length_errors, run.m.health.checksum_errors) == (1, 0)


def test_a_late_answer_after_detach_changes_nothing() -> None:
    run = Run()
    run.ready()
    run.m.detached("device removed")
    assert run.m.outcome(Command.FIND, ok(Sw3.CARD_FOUND), run.t) == []
    assert run.m.state == "absent"
    assert run.m.absent_reason == "device removed"
