"""The idcard-sam driver, over real pyserial, against the pty SAM simulator: every fault gives the right
state and a counted error, the driver does not crash, and it recovers when the fault ends."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from idcard_helpers import SAM_ID, Watch

from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.sim.cards import GeneratedCard
from agent.drivers.idcard.sim.model import Fault
from agent.drivers.idcard.sim.pty import PtySamReader
from agent.errors import DriverError

MakeDriver = Callable[..., Watch]
KEY = b"exam-2026-05-17-generated-test-key"


@pytest.fixture
def ready(sim: PtySamReader, make_driver: MakeDriver) -> Watch:
    watch = make_driver(port=sim.path)
    state = watch.in_state("ready")
    assert state.status == "ok"
    assert state.details["sam_id"] == SAM_ID
    assert state.details["port"] == sim.path
    watch.event("idcard.reader_online", sam_id=SAM_ID, port=sim.path, room="101")
    return watch


def check_in(sim: PtySamReader, watch: Watch, card: GeneratedCard, **expect: object) -> dict[str, object]:
    before = len(watch.named("idcard.checkin"))
    sim.place(card)
    watch.until(lambda _s: len(watch.named("idcard.checkin")) > before, "a check-in event")
    event = watch.named("idcard.checkin")[before]
    for key, value in expect.items():
        assert event.details[key] == value, (key, event.details)
    return dict(event.details)


def take_away(sim: PtySamReader, watch: Watch) -> None:
    sim.remove()
    watch.in_state("ready")


def test_a_card_gives_one_check_in_with_only_public_facts(
    sim: PtySamReader, ready: Watch, cards: list[GeneratedCard]
) -> None:
    card = cards[0]
    details = check_in(sim, ready, card, result="ok", code="90", room="101", reader=SAM_ID, number_ok=True)
    assert details["masked"] == card.number[:2] + "*" * 12 + card.number[-4:]
    assert details["candidate"] is None  # no key configured
    assert isinstance(details["read_ms"], int)
    assert details["read_ms"] >= 100  # a 1,295-byte answer at 115200 baud takes 0.11 s
    state = ready.in_state("waiting_removal")
    time.sleep(0.2)  # the card stays: still one check-in
    assert len(ready.named("idcard.checkin")) == 1
    take_away(sim, ready)
    state = ready.poll()
    assert state.details["reads_ok"] == 1
    assert state.details["sw3_9f"] >= 1
    flat = repr(ready.events) + repr(state)
    for secret in (card.number, card.name, card.address):
        assert secret not in flat


def test_registered_and_unregistered_candidates(
    sim: PtySamReader, make_driver: MakeDriver, cards: list[GeneratedCard], tmp_path: Path
) -> None:
    key_file, roster_file = tmp_path / "exam.key", tmp_path / "room.roster"
    key_file.write_bytes(KEY)
    key = CandidateKey(KEY)
    roster_file.write_text(key.digest(cards[0].number) + "\n", encoding="ascii")
    watch = make_driver(port=sim.path, key_file=str(key_file), roster_file=str(roster_file))
    state = watch.in_state("ready")
    assert (state.details["key_loaded"], state.details["roster_size"]) == (True, 1)
    check_in(sim, watch, cards[0], registered=True, candidate=key.digest(cards[0].number))
    take_away(sim, watch)
    check_in(sim, watch, cards[1], registered=False)
    take_away(sim, watch)
    # The hub pushes a new roster: it takes effect without a restart.
    roster_file.write_text(key.digest(cards[1].number) + "\n" + key.digest(cards[2].number) + "\n", encoding="ascii")
    watch.until(lambda s: s.details["roster_size"] == 2, "roster reloaded")
    check_in(sim, watch, cards[1], registered=True)
    take_away(sim, watch)
    # A broken roster keeps the previous one and says so.
    roster_file.write_text("not an hmac\n", encoding="ascii")
    state = watch.until(lambda s: s.details["provisioning_error"] is not None, "provisioning error shown")
    assert state.status == "warning"
    assert state.details["roster_size"] == 2


def test_a_missing_key_file_fails_start_with_a_clear_error(sim: PtySamReader, make_driver: MakeDriver) -> None:
    with pytest.raises(DriverError, match=r"candidate key file /nonexistent/exam\.key: cannot read"):
        make_driver(port=sim.path, key_file="/nonexistent/exam.key")


@pytest.mark.parametrize(
    ("fault", "counter", "reason"),
    [
        (Fault.SILENCE, "timeouts", "reader not answering (2 × timeout in a row)"),
        (Fault.BAD_CHECKSUM, "checksum_errors", "reader not answering (2 × checksum in a row)"),
        (Fault.SW3_60, "sw3_60", "SAM: SAM self-test failed (SW3 60)"),
    ],
)
def test_a_reader_fault_is_a_fault_state_with_a_counted_error_and_it_recovers(
    sim: PtySamReader, ready: Watch, cards: list[GeneratedCard], fault: Fault, counter: str, reason: str
) -> None:
    sim.set_fault(fault)
    state = ready.in_state("fault")
    assert state.status == "fault"
    assert state.details["error"] == reason
    assert state.details[counter] >= 1
    ready.event("idcard.reader_fault", reason=reason)
    sim.set_fault(None)
    state = ready.in_state("ready")
    assert state.details["error"] is None
    ready.event("idcard.reader_recovered")
    check_in(sim, ready, cards[0], result="ok")


@pytest.mark.parametrize("fault", [Fault.SPLIT, Fault.JUNK])
def test_split_answers_and_junk_before_the_preamble_still_read(
    sim: PtySamReader, ready: Watch, cards: list[GeneratedCard], fault: Fault
) -> None:
    sim.set_fault(fault)
    check_in(sim, ready, cards[0], result="ok", code="90")
    state = ready.poll()
    assert state.details["reads_ok"] == 1
    assert state.details["timeouts"] == 0
    assert state.details["checksum_errors"] == 0
    if fault is Fault.JUNK:
        assert state.details["junk_bytes"] > 0
    assert not ready.named("idcard.reader_fault")


def test_answers_delayed_within_the_timeout_are_fine(
    sim: PtySamReader, ready: Watch, cards: list[GeneratedCard]
) -> None:
    sim.set_fault(Fault.DELAYED, delay_s=0.05)
    check_in(sim, ready, cards[0], result="ok")
    assert ready.poll().details["timeouts"] == 0


def test_answers_delayed_past_the_timeout_fault_the_reader_until_they_are_prompt_again(
    sim: PtySamReader, ready: Watch, cards: list[GeneratedCard]
) -> None:
    sim.set_fault(Fault.DELAYED, delay_s=0.3)
    state = ready.in_state("fault")
    assert state.details["timeouts"] >= 2
    sim.set_fault(None)
    ready.in_state("ready")
    # Late answers to timed-out commands must not be taken for answers to later ones.
    check_in(sim, ready, cards[0], result="ok")


@pytest.mark.parametrize(
    ("fault", "code", "after", "counter"),
    [
        (Fault.SW3_41, "41", "waiting_removal", "sw3_41"),
        (Fault.SW3_80, "80", "ready", "sw3_80"),
        (Fault.REMOVED_MID_READ, "timeout", "ready", "timeouts"),
    ],
)
def test_a_failed_read_is_a_failed_check_in_with_its_code_and_the_next_card_reads(
    sim: PtySamReader, ready: Watch, cards: list[GeneratedCard], fault: Fault, code: str, after: str, counter: str
) -> None:
    sim.set_fault(fault)
    details = check_in(sim, ready, cards[0], result="failed", code=code, candidate=None, masked=None)
    assert details["room"] == "101"
    state = ready.in_state(after)
    assert state.status == "ok"
    assert state.details["reads_failed"] == 1
    assert state.details[counter] >= 1
    sim.set_fault(None)
    sim.remove()
    ready.in_state("ready")
    check_in(sim, ready, cards[1], result="ok")


def test_unplugging_makes_the_reader_absent_and_replugging_brings_it_back(
    sim: PtySamReader, ready: Watch, cards: list[GeneratedCard]
) -> None:
    sim.unplug()
    state = ready.in_state("absent")
    assert state.status == "offline"
    assert state.details["port"] is None
    assert state.details["io_errors"] >= 1
    ready.event("idcard.reader_lost", sam_id=SAM_ID, room="101")
    sim.replug()
    state = ready.in_state("ready")
    assert len(ready.named("idcard.reader_online")) == 2
    check_in(sim, ready, cards[0], result="ok")


def test_a_port_that_never_answers_is_not_a_reader(make_driver: MakeDriver, tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        link = tmp_path / "not-a-reader"
        link.symlink_to(os.ttyname(slave))
        watch = make_driver(port=str(link))
        state = watch.until(
            lambda s: s.details["state"] == "absent" and "no SAM reader answered" in str(s.details["error"]),
            "port given up",
        )
        assert state.status == "offline"
        assert state.details["timeouts"] >= 2
        assert not watch.named("idcard.reader_online")
        assert not watch.named("idcard.reader_lost")
    finally:
        os.close(master)
        os.close(slave)


def test_a_reader_with_another_sam_is_not_this_device(sim: PtySamReader, make_driver: MakeDriver) -> None:
    watch = make_driver(port=sim.path, sam_id="05.01-20240517-0000000001-0000000001")
    state = watch.until(lambda s: "is not this device's reader" in str(s.details["error"]), "SAM mismatch")
    assert state.details["state"] == "absent"
    assert not watch.named("idcard.reader_online")


def test_no_port_at_all_is_absent(make_driver: MakeDriver, tmp_path: Path) -> None:
    watch = make_driver(port=str(tmp_path / "nothing-here"))
    state = watch.until(lambda s: s.details["error"] == "no candidate port present", "absent")
    assert state.status == "offline"


def test_the_same_card_put_back_at_once_is_one_check_in(
    sim: PtySamReader, make_driver: MakeDriver, cards: list[GeneratedCard]
) -> None:
    watch = make_driver(port=sim.path, same_card_quiet_s=30.0)
    watch.in_state("ready")
    check_in(sim, watch, cards[0], result="ok")
    take_away(sim, watch)
    sim.place(cards[0])
    state = watch.until(lambda s: s.details["repeats"] == 1, "repeat counted")
    assert state.details["reads_ok"] == 2
    assert len(watch.named("idcard.checkin")) == 1
    take_away(sim, watch)
    check_in(sim, watch, cards[1], result="ok")


def test_the_sam_id_is_the_birth_identity_once_known(sim: PtySamReader, make_driver: MakeDriver) -> None:
    watch = make_driver(port=sim.path, label="Room 101 desk")
    assert watch.driver.info().identity is None
    watch.in_state("ready")
    info = watch.driver.info()
    assert (info.identity, info.label) == (SAM_ID, "Room 101 desk")


def test_poll_before_start_and_double_close(sim: PtySamReader, make_driver: MakeDriver) -> None:
    watch = make_driver(port=sim.path)
    watch.driver.close()
    with pytest.raises(DriverError, match="polled before start"):
        watch.driver.poll(datetime.now(UTC))
    watch.driver.close()


def test_an_idle_reader_does_not_change_its_state_with_every_find(ready: Watch) -> None:
    first = ready.poll()
    time.sleep(0.3)  # ten finds at the test's find interval
    second = ready.poll()
    assert second == first
    assert first.details["sw3_90"] >= 2  # SAM status and SAM id, answered before "ready"
    assert first.details["last_ok"] is not None
