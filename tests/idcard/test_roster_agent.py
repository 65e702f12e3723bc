"""The pushed roster at the agent: the keeper checks on the supervisor's thread, keeps it in a 0600 file and
reloads it; the idcard-sam driver over the pty simulator marks reads with it, a key / roster file still wins,
and the state says where they came from without ever showing the key."""

from __future__ import annotations

import base64
import json
import logging
import stat
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from idcard_helpers import Watch

from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.sim.cards import GeneratedCard
from agent.drivers.idcard.sim.pty import PtySamReader
from agent.roster import RosterKeeper, RosterUser
from hub.roster.push import roster_to_wire
from hub.store.roster import CurrentRoster
from protocol.codec import encode

MakeDriver = Callable[..., Watch]
SITE = "jinan/s01"
KEY = bytes(range(7, 39))
FILE_KEY = b"exam-2026-05-17-generated-file-key"


def payload(rooms: dict[str, list[str]], key: bytes = KEY, exam: str = "gen-exam", site: str = SITE) -> bytes:
    current = CurrentRoster(version=1, exam=exam, key=key, rooms={site: rooms})
    return encode(roster_to_wire(current, site, datetime.now(UTC)))


def test_the_keeper_checks_saves_0600_and_reloads(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    saved = tmp_path / "roster.json"
    keeper = RosterKeeper(SITE, saved)
    keeper.load()
    assert keeper.roster is None
    keeper.offer(b"{not json")
    keeper.offer(payload({"101": []}, site="qingdao/s02"))
    assert keeper.apply_pending() is False  # rejected and counted, never raised
    assert (keeper.counters.received, keeper.counters.rejected) == (2, 2)
    assert not saved.exists()

    good = payload({"101": ["ab" * 32]})
    keeper.offer(good)
    keeper.offer(good)  # the same again (a reconnect's retained copy) changes nothing
    assert keeper.apply_pending() is True
    assert keeper.counters.applied == 1
    assert saved.read_bytes() == good
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert keeper.roster is not None
    assert keeper.roster.room("101") == frozenset({"ab" * 32})

    again = RosterKeeper(SITE, saved)
    again.load()
    assert again.roster is not None
    assert again.roster.key.digest("1") == CandidateKey(KEY).digest("1")
    assert again.roster.exam == "gen-exam"

    saved.write_bytes(b"garbage")
    broken = RosterKeeper(SITE, saved)
    broken.load()
    assert (broken.roster, broken.counters.rejected) == (None, 1)
    key_text = base64.b64encode(KEY).decode()
    assert all(key_text not in r.getMessage() for r in caplog.records)
    assert any("key " in r.getMessage() for r in caplog.records)  # the key's id was logged, so the scan saw it


def test_a_pushed_roster_marks_reads_registered_or_not(
    sim: PtySamReader, make_driver: MakeDriver, cards: list[GeneratedCard], tmp_path: Path
) -> None:
    from test_idcard_driver import check_in, take_away  # noqa: PLC0415  # the same card dance

    key = CandidateKey(KEY)
    watch = make_driver(port=sim.path)
    assert isinstance(watch.driver, RosterUser)
    state = watch.in_state("ready")
    assert (state.details["key_source"], state.details["roster_source"], state.details["roster_size"]) == (
        None, None, None
    )  # fmt: skip
    check_in(sim, watch, cards[0], registered=None, candidate=None)
    take_away(sim, watch)

    keeper = RosterKeeper(SITE, tmp_path / "roster.json")
    keeper.offer(payload({"101": [key.digest(cards[0].number)], "102": [key.digest(cards[1].number)]}))
    keeper.apply_pending()
    watch.driver.use_roster(keeper.roster)
    state = watch.poll()
    assert (state.details["key_source"], state.details["roster_source"], state.details["roster_size"]) == (
        "pushed", "pushed", 1
    )  # fmt: skip
    assert state.details["roster_exam"] == "gen-exam"
    assert base64.b64encode(KEY).decode() not in json.dumps(state.details)
    check_in(sim, watch, cards[0], registered=True, candidate=key.digest(cards[0].number))
    take_away(sim, watch)
    check_in(sim, watch, cards[1], registered=False)  # registered in room 102, not here
    take_away(sim, watch)


def test_key_and_roster_files_win_over_the_pushed_ones(
    sim: PtySamReader, make_driver: MakeDriver, cards: list[GeneratedCard], tmp_path: Path
) -> None:
    from test_idcard_driver import check_in  # noqa: PLC0415

    key_file = tmp_path / "exam.key"
    key_file.write_bytes(FILE_KEY)
    file_key = CandidateKey(FILE_KEY)
    watch = make_driver(port=sim.path, key_file=str(key_file))
    watch.in_state("ready")
    keeper = RosterKeeper(SITE, None)
    keeper.offer(payload({"101": [CandidateKey(KEY).digest(cards[0].number)]}))
    keeper.apply_pending()
    watch.driver.use_roster(keeper.roster)
    state = watch.poll()
    # A file key is never paired with a pushed roster: its HMACs were made with the other key.
    assert (state.details["key_source"], state.details["roster_source"], state.details["roster_size"]) == (
        "file", None, None
    )  # fmt: skip
    check_in(sim, watch, cards[0], registered=None, candidate=file_key.digest(cards[0].number))
