"""The generic retained-message keeper with a plain ``check``: save failures, leftovers, rejects, reload."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.retained import Rejected, Retained, RetainedKeeper

SITE = "jinan/s01"


@dataclass(frozen=True)
class Note:
    site: str
    text: str


def _check(payload: bytes, site: str) -> Note:
    try:
        obj = json.loads(payload)
        note = Note(obj["site"], obj["text"])
    except (ValueError, KeyError, TypeError) as exc:
        raise Rejected(f"invalid note: {type(exc).__name__}") from exc
    if note.site != site:
        raise Rejected(f"note is for site {note.site!r}")
    return note


KIND: Retained[Note, str] = Retained("note", _check, lambda n: n.text.upper(), lambda n: f"{len(n.text)} chars", 0o600)


def _payload(text: str, site: str = SITE) -> bytes:
    return json.dumps({"site": site, "text": text}).encode()


def test_a_good_message_is_saved_with_its_mode_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "note.json"
    keeper = RetainedKeeper(KIND, SITE, path)
    keeper.offer(_payload("hello"))
    assert keeper.apply_pending() is True
    assert keeper.held == "HELLO"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = RetainedKeeper(KIND, SITE, path)
    again.load()
    assert again.held == "HELLO"
    keeper.offer(_payload("hello"))
    assert keeper.apply_pending() is False  # the same message again changes nothing
    assert (keeper.counters.received, keeper.counters.applied) == (2, 1)


def test_bad_and_foreign_messages_are_counted_and_the_old_one_kept(tmp_path: Path) -> None:
    keeper = RetainedKeeper(KIND, SITE, tmp_path / "note.json")
    keeper.offer(_payload("first"))
    keeper.offer(b"{not json")
    keeper.offer(_payload("elsewhere", site="qingdao/s02"))
    assert keeper.apply_pending() is True
    assert keeper.held == "FIRST"
    assert keeper.counters.rejected == 2


def test_a_failed_save_is_counted_and_the_message_still_used(tmp_path: Path) -> None:
    folder = tmp_path / "gone"
    keeper = RetainedKeeper(KIND, SITE, folder / "note.json")  # the folder does not exist: the save fails
    keeper.offer(_payload("kept in memory"))
    assert keeper.apply_pending() is True
    assert keeper.held == "KEPT IN MEMORY"
    assert keeper.counters.persist_errors == 1
    assert not folder.exists()


def test_a_leftover_temporary_file_with_a_wider_mode_is_not_reused(tmp_path: Path) -> None:
    path = tmp_path / "note.json"
    leftover = tmp_path / ".note.json.tmp"
    leftover.write_bytes(b"stale")
    os.chmod(leftover, 0o666)
    keeper = RetainedKeeper(KIND, SITE, path)
    keeper.offer(_payload("fresh"))
    keeper.apply_pending()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not leftover.exists()
    assert _check(path.read_bytes(), SITE).text == "fresh"


@pytest.mark.parametrize("content", [b"", b"[]", _payload("x", site="yantai/s01")])
def test_an_unusable_saved_file_is_ignored_and_counted(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "note.json"
    path.write_bytes(content)
    keeper = RetainedKeeper(KIND, SITE, path)
    keeper.load()
    assert keeper.held is None
    assert keeper.counters.rejected == 1
