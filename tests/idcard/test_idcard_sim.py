"""The simulator: the model's answers and faults (pure), its script, and the CLI on a real pty."""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from idcard_helpers import SAM_BYTES, today

from agent import simulate
from agent.drivers.idcard import frames, idnumber
from agent.drivers.idcard.commands import Command
from agent.drivers.idcard.frames import Frame, FrameParser, Request, Response
from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.serialport import SerialPort
from agent.drivers.idcard.sim.cards import GeneratedCard, generated_test_cards
from agent.drivers.idcard.sim.model import Fault, SamModel
from agent.drivers.idcard.sim.script import Script, Step
from agent.drivers.idcard.status import Sw3

ROOT = Path(__file__).resolve().parents[2]


def ask(model: SamModel, command: Command) -> tuple[Response | None, bytes]:
    reply = model.answer(Request(command.cmd, command.para, b""))
    if reply.frame is None:
        return None, b""
    parsed = FrameParser().feed(reply.frame)
    if not parsed or not isinstance(parsed[0], Frame):
        return None, reply.frame
    return Response.from_frame(parsed[0]), reply.frame


def test_a_healthy_model_answers_every_command(cards: list[GeneratedCard]) -> None:
    model = SamModel(SAM_BYTES)
    assert ask(model, Command.SAM_STATUS)[1] == bytes.fromhex("AAAAAA9669 0004 000090 94")
    status, _ = ask(model, Command.SAM_ID)
    assert status is not None
    assert status.data == SAM_BYTES
    assert ask(model, Command.FIND)[1] == bytes.fromhex("AA AA AA 96 69 00 08 00 00 80 00 00 00 00 88")
    model.card = cards[0]
    assert ask(model, Command.FIND)[1] == bytes.fromhex("AA AA AA 96 69 00 08 00 00 9F 00 00 00 00 97")
    read, raw = ask(model, Command.READ)
    assert len(raw) == 1295
    assert read is not None
    assert read.sw3 == Sw3.OK
    assert model.requests == {"SAM_STATUS": 1, "SAM_ID": 1, "FIND": 2, "READ": 1}
    unknown = model.answer(Request(0x99, 0x01, b""))
    assert unknown.frame == frames.response(Sw3.COMMAND_ERROR)


def test_each_fault_shapes_the_answer(cards: list[GeneratedCard]) -> None:
    model = SamModel(SAM_BYTES, delay_s=0.7)
    model.card = cards[0]
    status = Request(0x11, 0xFF, b"")
    model.fault = Fault.SILENCE
    assert model.answer(status).frame is None
    model.fault = Fault.BAD_CHECKSUM
    bad = model.answer(status).frame
    assert bad is not None
    assert isinstance(FrameParser().feed(bad)[0], frames.BadChecksum)
    model.fault = Fault.SPLIT
    assert model.answer(status).split
    model.fault = Fault.DELAYED
    assert model.answer(status).delay_s == 0.7
    model.fault = Fault.JUNK
    junk = model.answer(status)
    assert junk.junk
    assert 0xAA not in junk.junk
    model.fault = Fault.SW3_60
    assert ask(model, Command.FIND)[1] == frames.response(Sw3.SAM_SELF_TEST_FAILED)
    model.fault = Fault.SW3_41
    read, _ = ask(model, Command.READ)
    assert read is not None
    assert read.sw3 == Sw3.READ_FAILED
    assert model.card is cards[0]
    model.fault = Fault.REMOVED_MID_READ
    cut = model.answer(Request(0x30, 0x01, b""))
    assert cut.cut_at == 1295 // 2
    assert model.card is None
    model.card, model.fault = cards[1], Fault.SW3_80
    read, _ = ask(model, Command.READ)
    assert read is not None
    assert read.sw3 == Sw3.NO_CARD
    assert model.card is None


def test_the_bench_deck_deals_a_new_card_after_a_gap(cards: list[GeneratedCard]) -> None:
    model = SamModel(SAM_BYTES)
    model.deck, model.card = cards[:2], cards[0]
    ask(model, Command.READ)
    assert model.card is cards[1]
    find, _ = ask(model, Command.FIND)
    assert find is not None
    assert find.sw3 == Sw3.NO_CARD
    find, _ = ask(model, Command.FIND)
    assert find is not None
    assert find.sw3 == Sw3.CARD_FOUND


def test_the_script_puts_cards_down_and_runs_faults_at_the_end_of_each_period() -> None:
    faults = (Fault.SILENCE, Fault.SW3_41)
    script = Script(cards=3, card_every_s=10, dwell_s=4, faults=faults, fault_every_s=60, fault_for_s=20)
    assert script.at(0) == Step(0, 0, None)
    assert script.at(5) == Step(0, None, None)
    assert script.at(12) == Step(1, 1, None)
    assert script.at(31) == Step(3, 0, None)
    assert script.at(45) == Step(4, None, Fault.SILENCE)
    assert script.at(105).fault is Fault.SW3_41
    with pytest.raises(ValueError, match="dwell_s"):
        Script(cards=1, card_every_s=2, dwell_s=2)
    with pytest.raises(ValueError, match="faults need"):
        Script(cards=1, fault_every_s=10)


def test_generated_cards_are_test_data() -> None:
    cards = generated_test_cards(seed=1, count=14, today=today())
    assert all(c.name.startswith("测试人员") and c.address.startswith("测试地址") for c in cards)
    assert len({c.number for c in cards}) == 14
    # Region 99 belongs to no place: a generated number is nobody's, and still a valid one.
    assert all(c.number.startswith("99") and idnumber.is_valid(c.number) for c in cards)
    assert sum(c.valid_to is None for c in cards) == 2
    assert sum(c.valid_to is not None and c.valid_to < today() for c in cards) == 2
    assert cards[0].number not in repr(cards[0])


def _exchange(port: SerialPort, command: Command) -> Response:
    parser = FrameParser()
    port.write(command.frame())
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        for item in parser.feed(port.read(parser.needed(), deadline)):
            assert isinstance(item, Frame)
            response = Response.from_frame(item)
            assert response is not None
            return response
    raise AssertionError(f"no answer to {command}")


def test_simulate_idcard_serves_a_reader_on_a_link_and_stops_on_sigterm(tmp_path: Path) -> None:
    link, key, roster = tmp_path / "reader", tmp_path / "exam.key", tmp_path / "room.roster"
    key.write_bytes(b"k" * 32)
    argv = [sys.executable, "-m", "agent.simulate", "idcard", "--link", str(link), "--cards", "5"]
    argv += ["--card-every", "0.5", "--dwell", "0.4", "--key-file", str(key), "--roster-out", str(roster)]
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"ready {link} -> /dev/pts/"), line
        port = SerialPort(str(link), 115200)
        try:
            assert _exchange(port, Command.SAM_STATUS).sw3 == Sw3.OK
            deadline = time.monotonic() + 3
            while _exchange(port, Command.FIND).sw3 != Sw3.CARD_FOUND:
                assert time.monotonic() < deadline, "the script never put a card down"
            assert _exchange(port, Command.SELECT).sw3 == Sw3.OK
            read = _exchange(port, Command.READ)
            assert read.sw3 == Sw3.OK
            assert len(read.data) == 4 + 256 + 1024
        finally:
            port.close()
        entries = roster.read_text(encoding="ascii").split()
        assert len(entries) == 3  # five cards, the default two left unregistered
        expected = {CandidateKey(b"k" * 32).digest(c.number) for c in generated_test_cards(1, 5, today=today())[:3]}
        assert set(entries) == expected
    finally:
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert not os.path.lexists(link)
    for card in generated_test_cards(1, 5, today=today()):
        assert card.number not in err
        assert card.name not in err


def test_simulate_rejects_unknown_faults(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "agent.simulate", "idcard", "--link", str(tmp_path / "x"), "--faults", "smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2
    assert "known faults: silence" in done.stderr


def test_simulate_plugs_into_the_sitewatch_command_line_as_hub_cli_loads_it() -> None:
    parser = argparse.ArgumentParser(prog="sitewatch")
    sub = parser.add_subparsers(dest="command", required=True)
    simulate.add_arguments(sub.add_parser("simulate"))
    args = parser.parse_args(["simulate", "idcard", "--link", "/tmp/r", "--faults", "all", "--fault-every", "60"])
    assert (args.command, args.simulator, args.link) == ("simulate", "idcard", Path("/tmp/r"))
    assert args.faults == tuple(Fault)
    with pytest.raises(SystemExit):
        parser.parse_args(["simulate", "toaster"])
