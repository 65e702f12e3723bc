"""The text block (offsets from the field notes) and ID-number structure (ISO 7064 MOD 11-2)."""

# Every ID number here is generated test data: region code 99 belongs to no place, so none is anyone's
# number (99000019880808002X is built with a valid check character; the others are broken on purpose).

from __future__ import annotations

import random
from datetime import date

import pytest

from agent.drivers.idcard import idnumber, text
from agent.drivers.idcard.errors import CardDataError
from agent.drivers.idcard.record import Validity
from agent.drivers.idcard.sim.cards import GeneratedCard, generated_test_identity

# Region 990000 does not exist: these hand-checked vectors cannot be anybody's number.
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def test_check_character_matches_a_hand_computed_example() -> None:
    body = "99000019880808002"
    total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
    assert total == 343
    assert total % 11 == 2
    assert "10X98765432"[2] == "X"
    assert idnumber.check_char(body) == "X"
    assert idnumber.check_char("99000019880808001") == "1"
    assert idnumber.is_valid("99000019880808002X")
    assert idnumber.is_valid("99000019880808002x")


def test_generated_identities_are_valid_and_any_one_digit_change_breaks_them() -> None:
    rng = random.Random(7)
    for _ in range(200):
        number = generated_test_identity(rng)
        assert idnumber.is_valid(number), number
        position = rng.randrange(17)
        changed = number[:position] + str((int(number[position]) + 1) % 10) + number[position + 1 :]
        # A single-digit change always changes a MOD 11-2 check; it may also make the birth date invalid.
        assert not idnumber.is_valid(changed)


@pytest.mark.parametrize(
    "number",
    ["99000019880808002", "99000019880808002XX", "9900001988080800２X", "99000019881308001X", "0900001988080800A1"],
)
def test_malformed_numbers_are_invalid(number: str) -> None:
    assert not idnumber.is_valid(number)


def _block(fields: dict[str, str]) -> bytes:
    """A block built straight from the offset table in the field notes, not with the code under test."""
    chars = [" "] * 128
    offsets = {
        "name": 0,
        "sex": 15,
        "nation": 16,
        "birth": 18,
        "address": 26,
        "number": 61,
        "authority": 79,
        "valid_from": 94,
        "valid_to": 102,
    }
    for key, value in fields.items():
        chars[offsets[key] : offsets[key] + len(value)] = list(value)
    return "".join(chars).encode("utf-16-le")


FIELDS = {
    "name": "测试人员01",
    "sex": "1",
    "nation": "01",
    "birth": "19880808",
    "address": "测试地址99省测试市测试路1号",
    "number": "99000019880808002X",
    "authority": "测试市公安局",
    "valid_from": "20200101",
    "valid_to": "20400101",
}


def test_decode_reads_every_field_at_its_offset() -> None:
    block = _block(FIELDS)
    assert len(block) == 256
    assert block[61 * 2 : 79 * 2].decode("utf-16-le") == FIELDS["number"]
    record = text.decode(block, b"\x01" * 1024)
    assert record.name == "测试人员01"
    assert record.sex == "1"
    assert record.nation == "01"
    assert record.birth == date(1988, 8, 8)
    assert record.address == FIELDS["address"]
    assert record.number == "99000019880808002X"
    assert record.authority == "测试市公安局"
    assert record.validity == Validity(date(2020, 1, 1), date(2040, 1, 1))
    assert record.photo == b"\x01" * 1024


def test_long_term_validity_has_no_end() -> None:
    record = text.decode(_block({**FIELDS, "valid_to": "长期"}))
    assert record.validity.end is None
    assert record.validity.long_term
    assert not record.validity.expired(date(2099, 1, 1))
    assert record.validity.in_force(date(2099, 1, 1))
    assert not record.validity.in_force(date(2019, 12, 31))


def test_validity_ends_after_its_last_day() -> None:
    validity = Validity(date(2020, 1, 1), date(2040, 1, 1))
    assert not validity.expired(date(2040, 1, 1))
    assert validity.expired(date(2040, 1, 2))
    assert not validity.in_force(date(2040, 1, 2))


def test_encode_is_the_inverse_of_decode(cards: list[GeneratedCard]) -> None:
    for card in cards:
        record = text.decode(card.text_block(), card.photo)
        assert (record.number, record.name, record.address) == (card.number, card.name, card.address)
        assert record.validity == Validity(card.valid_from, card.valid_to)
        assert record.birth == card.birth


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"birth": "1988AB08"}, "birth field is not an 8-digit date"),
        ({"valid_from": "20201301"}, "valid_from field is not a calendar date"),
        ({"valid_to": "永久"}, "valid_to field is not an 8-digit date"),
        ({"name": ""}, "empty name field"),
    ],
)
def test_bad_fields_are_named_without_quoting_the_card(change: dict[str, str], message: str) -> None:
    fields = {**FIELDS, **change}
    with pytest.raises(CardDataError, match=message) as info:
        text.decode(_block(fields))
    for value in FIELDS.values():
        assert value not in str(info.value)


def test_a_short_or_undecodable_block_is_refused() -> None:
    with pytest.raises(CardDataError, match="255 bytes"):
        text.decode(bytes(255))
    with pytest.raises(CardDataError, match="not valid UTF-16LE"):
        text.decode(b"\x00\xd8" * 128)  # lone surrogates


def test_encode_refuses_a_field_wider_than_its_slot() -> None:
    with pytest.raises(ValueError, match="name is longer"):
        text.encode(
            name="测" * 16,
            sex="1",
            nation="01",
            birth=date(1988, 8, 8),
            address="",
            number="99000019880808002X",
            authority="",
            valid_from=date(2020, 1, 1),
            valid_to=None,
        )
