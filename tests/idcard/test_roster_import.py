"""The roster, pure: the CSV's checks (each problem on its line, never the number), the hub's HMACs equal the
agent's, the wire message's bounds, and the pushed message turned back into what a reader needs."""

from __future__ import annotations

import base64
import hashlib
import json
import random
from datetime import UTC, datetime

import msgspec
import pytest

from agent.drivers.idcard import text
from agent.drivers.idcard.checkin import read_ok
from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.sim.cards import generated_test_cards, generated_test_identity
from agent.roster import RosterRejected, check, held
from hub.roster.errors import RosterError
from hub.roster.load import hash_roster, parse_roster
from hub.roster.push import roster_to_wire
from hub.store.roster import CurrentRoster
from protocol.codec import encode
from protocol.messages import ROSTER_MAX_CANDIDATES, AgentRoster, RoomRoster, key_id
from protocol.validation import checked, convert

NOW = datetime(2026, 5, 17, 1, 0, tzinfo=UTC)
KEY = bytes(range(100, 132))


def numbers(count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [generated_test_identity(rng) for _ in range(count)]


def csv_of(rows: list[tuple[str, str, str, str]]) -> str:
    return "exam,site,room,id_number\n" + "".join(",".join(r) + "\n" for r in rows)


def problems(text: str) -> list[str]:
    with pytest.raises(RosterError) as caught:
        parse_roster(text, "roster.csv")
    return str(caught.value).splitlines()


def test_a_valid_file_becomes_seats_of_one_exam() -> None:
    a, b, c = numbers(3)
    roster = parse_roster(
        csv_of([("gen-exam", "jinan/s01", "101", a), ("gen-exam", "jinan/s01", "102", b.lower()),
                ("gen-exam", "qingdao/s02", "201", c)]),
        "roster.csv",
    )  # fmt: skip
    assert roster.exam == "gen-exam"
    assert [(s.line, s.site, s.room) for s in roster.seats] == [
        (2, "jinan/s01", "101"), (3, "jinan/s01", "102"), (4, "qingdao/s02", "201")
    ]  # fmt: skip
    assert roster.seats[1].number == b.upper()  # an x check character is an X, as the agent upper-cases it
    assert a not in repr(roster)


def test_every_problem_is_named_by_its_line_and_never_quotes_the_number() -> None:
    good, dup, other = numbers(3, seed=11)
    broken = good[:-1] + ("0" if good[-1] != "0" else "1")  # wrong check character
    short = good[:10]
    text = csv_of([
        ("gen-exam", "jinan/s01", "101", good),
        ("gen-exam", "jinan/s01", "101", broken),
        ("gen-exam", "Jinan", "101", other),
        ("gen-exam", "jinan/s01", "101", good),
        ("exam two", "jinan/s01", "101", dup),
        ("other-exam", "jinan/s01", "101", dup),
        ("gen-exam", "jinan/s01", "", short),
    ]) + "gen-exam,jinan/s01\n"  # fmt: skip
    found = problems(text)
    assert found == [
        "roster.csv:3: id_number: not a valid ID number (length, digits, date or check character)",
        "roster.csv:4: site: must be <city>/<site> (lower-case slugs)",
        "roster.csv:5: id_number: the same candidate as line 2",
        "roster.csv:6: exam: 1-64 characters of A-Z a-z 0-9 _ . -",
        "roster.csv:7: exam 'other-exam', but line 2 names 'gen-exam': one exam a file",
        "roster.csv:7: id_number: the same candidate as line 6",
        "roster.csv:8: room: 1-64 characters",
        "roster.csv:8: id_number: not a valid ID number (length, digits, date or check character)",
        "roster.csv:9: 2 field(s), expected 4",
    ]
    for secret in (good, broken, short, dup, other):
        assert secret not in "\n".join(found)


def test_a_file_without_the_header_or_without_rows_is_refused() -> None:
    assert problems("site,room\n") == ["roster.csv:1: the header must be exam,site,room,id_number"]
    assert problems("") == ["roster.csv:1: the header must be exam,site,room,id_number"]
    assert problems("exam,site,room,id_number\n\n") == ["roster.csv: no candidates"]


def test_a_room_over_the_wire_bound_is_refused_before_anything_is_stored() -> None:
    many = numbers(ROSTER_MAX_CANDIDATES + 1, seed=3)
    text = csv_of([("gen-exam", "jinan/s01", "101", n) for n in many])
    assert problems(text) == [
        f"roster.csv: jinan/s01 room '101': {ROSTER_MAX_CANDIDATES + 1} candidates, at most {ROSTER_MAX_CANDIDATES}"
    ]


def test_the_hubs_hmac_is_the_one_the_agent_computes_from_the_card() -> None:
    cards = generated_test_cards(seed=5, count=4, today=NOW.date())
    roster = parse_roster(csv_of([("gen-exam", "jinan/s01", "101", c.number.lower()) for c in cards]), "r.csv")
    stored = hash_roster(roster, CandidateKey(KEY))
    assert [e.masked for e in stored] == [c.number[:2] + "*" * 12 + c.number[-4:] for c in cards]
    # The agent's side: a check-in of each card, with a fresh key object made from the same bytes.
    agent_key = CandidateKey(KEY)
    for card, entry in zip(cards, stored, strict=True):
        _, details = read_ok(text.decode(card.text_block()), room="101", reader="r", key=agent_key,
                             roster=frozenset(e.candidate for e in stored), today=NOW.date(), read_ms=1)  # fmt: skip
        assert details["candidate"] == entry.candidate
        assert details["registered"] is True
        assert card.number not in json.dumps([entry.city, entry.site, entry.room, entry.candidate, entry.masked])


def wire(**changes: object) -> dict[str, object]:
    doc: dict[str, object] = {
        "exam": "gen-exam",
        "site": "jinan/s01",
        "key_id": key_id(KEY),
        "key": base64.b64encode(KEY).decode(),
        "ts": NOW.isoformat(),
        "rooms": [{"room": "101", "candidates": ["ab" * 32]}],
    }
    doc.update(changes)
    return doc


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"key": base64.b64encode(KEY[:16]).decode().ljust(44, "A")}, "key"),
        ({"key": base64.b64encode(bytes(31)).decode() + "A"}, "key"),
        ({"key_id": "0" * 16}, "key_id does not name this key"),
        ({"rooms": [{"room": "101", "candidates": []}, {"room": "101", "candidates": []}]}, "a room is listed twice"),
        ({"rooms": [{"room": "101", "candidates": ["AB" * 32]}]}, "rooms[0].candidates[0]"),
        ({"rooms": [{"room": "101", "candidates": ["ab" * 32] * (ROSTER_MAX_CANDIDATES + 1)}]}, "rooms[0].candidates"),
        ({"site": "jinan"}, "site"),
    ],
)
def test_the_wire_roster_is_bounded_and_consistent_and_never_quotes_the_key(
    changes: dict[str, object], reason: str
) -> None:
    payload = json.dumps({"v": 1, "type": "roster", **wire(**changes)}).encode()
    with pytest.raises(RosterRejected) as caught:
        check(payload, "jinan/s01")
    assert reason in str(caught.value)
    assert str(changes.get("key", base64.b64encode(KEY).decode())) not in str(caught.value)


def test_a_pushed_roster_round_trips_into_what_a_reader_needs() -> None:
    current = CurrentRoster(
        version=3, exam="gen-exam", key=KEY,
        rooms={"jinan/s01": {"102": ["cd" * 32], "101": ["ab" * 32, "ef" * 32]}, "qingdao/s02": {"9": ["01" * 32]}},
    )  # fmt: skip
    message = roster_to_wire(current, "jinan/s01", NOW)
    assert [r.room for r in message.rooms] == ["101", "102"]  # only its own site's rooms
    assert message.key_id == hashlib.sha256(KEY).hexdigest()[:16]
    assert "key=<withheld>" in repr(current)
    got = held(check(encode(message), "jinan/s01"))
    assert got.exam == "gen-exam"
    assert got.room("101") == frozenset({"ab" * 32, "ef" * 32})
    assert got.room("103") == frozenset()  # a room the hub did not list has nobody registered
    assert got.key.digest("x") == CandidateKey(KEY).digest("x")
    empty = roster_to_wire(current, "zibo/s9", NOW)
    assert empty.rooms == []
    with pytest.raises(RosterRejected, match="is for site 'jinan/s01'"):
        check(encode(message), "qingdao/s02")


def test_a_room_needs_a_name_and_the_message_never_shows_its_key() -> None:
    with pytest.raises(msgspec.ValidationError, match="room"):
        checked(RoomRoster(room="", candidates=[]))
    message = convert(wire(), AgentRoster)
    assert message.key_bytes() == KEY
    assert base64.b64encode(KEY).decode() not in repr(message) + str(message)  # a stray log line shows no key
