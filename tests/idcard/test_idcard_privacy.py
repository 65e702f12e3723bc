"""Personal data cannot be serialised by accident; the key never shows; HMACs, masks and rosters behave."""

from __future__ import annotations

# 99000019880808002X is generated test data: region code 99 belongs to no place, so it is no one's number.
import copy
import dataclasses
import json
import logging
import pickle
from pathlib import Path

import msgspec
import pytest

from agent.drivers.idcard import text
from agent.drivers.idcard.errors import ProvisioningError
from agent.drivers.idcard.privacy import CandidateKey, load_key, load_roster, mask
from agent.drivers.idcard.record import CardRecord
from agent.drivers.idcard.sim.cards import GeneratedCard


@pytest.fixture
def record(cards: list[GeneratedCard]) -> CardRecord:
    return text.decode(cards[0].text_block(), cards[0].photo)


def _assert_private(shown: str, card: GeneratedCard) -> None:
    for secret in (card.number, card.name, card.address, card.number[2:-4]):
        assert secret not in shown


def test_repr_str_and_format_show_only_the_masked_number(record: CardRecord, cards: list[GeneratedCard]) -> None:
    card = cards[0]
    percent = "%s %r" % (record, record)  # noqa: UP031  # the formatting logging uses
    for shown in (repr(record), str(record), f"{record}", f"{record!r}", f"{record:>80}", percent):
        _assert_private(shown, card)
        assert mask(card.number) in shown


def test_logging_a_record_leaks_nothing(
    record: CardRecord, cards: list[GeneratedCard], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("test").debug("record %s %r", record, [record])
        logging.getLogger("test").debug("record", extra={"record_obj": record})
    _assert_private(caplog.text, cards[0])


def test_no_serialiser_accepts_a_record(record: CardRecord) -> None:
    with pytest.raises(TypeError):
        json.dumps(record)
    with pytest.raises(TypeError):
        json.dumps({"card": record}, default=vars)
    with pytest.raises(TypeError):
        pickle.dumps(record)
    with pytest.raises(TypeError):
        copy.copy(record)
    with pytest.raises(TypeError):
        copy.deepcopy(record)
    with pytest.raises(TypeError):
        dataclasses.asdict(record)  # type: ignore[call-overload]
    # msgspec is what the agent encodes its messages with.
    with pytest.raises(TypeError):
        msgspec.json.encode(record)
    with pytest.raises(TypeError):
        msgspec.json.encode({"card": record})
    with pytest.raises(TypeError):
        msgspec.to_builtins(record)
    assert not hasattr(record, "__dict__")
    assert not hasattr(record, "__struct_fields__")


def test_a_record_cannot_be_changed(record: CardRecord) -> None:
    with pytest.raises(AttributeError):
        record.name = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        del record.number  # type: ignore[misc]


def test_mask_keeps_first_two_and_last_four() -> None:
    assert mask("99000019880808002X") == "99************002X"
    assert mask("12345") == "*****"


def test_hmac_depends_on_the_key_and_ignores_case() -> None:
    a, b = CandidateKey(b"k" * 16), CandidateKey(b"j" * 16)
    number = "99000019880808002X"
    assert a.digest(number) == a.digest(number.lower())
    assert a.digest(number) != b.digest(number)
    assert len(a.digest(number)) == 64
    with pytest.raises(ValueError, match="at least 16 bytes"):
        CandidateKey(b"short")


def test_the_key_never_shows(tmp_path: Path) -> None:
    secret = b"0123456789abcdef-exam-2026"
    path = tmp_path / "exam.key"
    path.write_bytes(secret + b"\n")
    key = load_key(path)
    assert secret.decode() not in repr(key)
    assert secret.decode() not in str(key)
    with pytest.raises(TypeError):
        pickle.dumps(key)
    assert key.digest("99000019880808002X") == CandidateKey(secret).digest("99000019880808002X")


def test_key_file_errors_name_the_file_not_the_contents(tmp_path: Path) -> None:
    path = tmp_path / "exam.key"
    path.write_bytes(b"tooshort-secret")
    with pytest.raises(ProvisioningError, match=r"exam\.key: holds 15 bytes") as info:
        load_key(path)
    assert "tooshort" not in str(info.value)
    with pytest.raises(ProvisioningError, match="cannot read"):
        load_key(tmp_path / "missing.key")


def test_roster_reads_hmacs_and_names_the_bad_line(tmp_path: Path) -> None:
    key = CandidateKey(b"k" * 16)
    good = key.digest("99000019880808002X")
    path = tmp_path / "room.roster"
    path.write_text(f"# room 101\n\n{good.upper()}  # first\n", encoding="ascii")
    assert load_roster(path) == frozenset({good})
    path.write_text(f"{good}\n99000019880808002X\n", encoding="ascii")
    with pytest.raises(ProvisioningError, match="line 2: not a candidate HMAC") as info:
        load_roster(path)
    assert "99000019880808002X" not in str(info.value)
    path.write_text("测试\n", encoding="utf-8")
    with pytest.raises(ProvisioningError, match="not an ASCII text file"):
        load_roster(path)
