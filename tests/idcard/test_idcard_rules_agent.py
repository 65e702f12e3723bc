"""Pure agent-side rules: which ttys are candidates, what a check-in says, what the config accepts."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.drivers.idcard import checkin, text
from agent.drivers.idcard.driver import IdcardSamConfig
from agent.drivers.idcard.privacy import CandidateKey
from agent.drivers.idcard.sim.cards import GeneratedCard
from agent.drivers.serial_hotplug import CandidateRule, TtyDevice, candidates
from agent.errors import ConfigError

CH340 = TtyDevice("/dev/ttyUSB0", ("/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0",), "1a86:7523")
CP210X = TtyDevice("/dev/ttyUSB1", ("/dev/serial/by-id/usb-Silicon_Labs_CP2102-if00-port0",), "10c4:ea60")
CONSOLE = TtyDevice("/dev/tty1")


def test_usb_ids_make_candidates_of_matching_bridges_only() -> None:
    rule = CandidateRule(usb_ids=("1a86:7523",))
    assert rule.matches(CH340)
    assert not rule.matches(CP210X)
    assert not rule.matches(CONSOLE)
    assert candidates(rule, [CP210X, CH340, CONSOLE], ["/dev/ttyUSB0"]) == ["/dev/ttyUSB0"]


def test_port_globs_match_nodes_and_links_and_prefer_the_matching_link() -> None:
    rule = CandidateRule(ports=("/dev/serial/by-id/usb-1a86_*",))
    assert candidates(rule, [CH340, CP210X], []) == ["/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0"]
    assert candidates(CandidateRule(ports=("/dev/ttyUSB*",)), [CP210X, CH340, CONSOLE], []) == [
        "/dev/ttyUSB0",
        "/dev/ttyUSB1",
    ]


def test_both_criteria_must_hold() -> None:
    rule = CandidateRule(ports=("/dev/ttyUSB1",), usb_ids=("1a86:7523",))
    assert candidates(rule, [CH340, CP210X], []) == []


def test_paths_without_udev_records_count_for_globs_but_not_for_usb_ids() -> None:
    assert candidates(CandidateRule(ports=("/tmp/*/ttySAM0",)), [], ["/tmp/x/ttySAM0"]) == ["/tmp/x/ttySAM0"]
    assert candidates(CandidateRule(usb_ids=("1a86:7523",)), [], ["/tmp/x/ttySAM0"]) == []
    # A path udev already described is not tried twice.
    assert candidates(CandidateRule(ports=("/dev/ttyUSB0",)), [CH340], ["/dev/ttyUSB0"]) == ["/dev/ttyUSB0"]


def _facts(
    card: GeneratedCard, *, key: CandidateKey | None, roster: frozenset[str] | None, today: date
) -> tuple[str, dict[str, object]]:
    record = text.decode(card.text_block(), card.photo)
    severity, details = checkin.read_ok(
        record, room="101", reader="SAM-1", key=key, roster=roster, today=today, read_ms=150
    )
    return severity, dict(details)


def _assert_no_personal_data(details: dict[str, object], card: GeneratedCard) -> None:
    flat = " ".join(str(v) for v in details.values())
    for secret in (card.number, card.name, card.address, card.authority, card.number[2:-4]):
        assert secret not in flat
    assert card.photo.hex()[:32] not in flat


def test_a_registered_valid_card_is_an_info_check_in_with_hmac_and_mask(cards: list[GeneratedCard]) -> None:
    key = CandidateKey(b"exam-key-2026-05-17")
    card = cards[0]
    severity, details = _facts(card, key=key, roster=frozenset({key.digest(card.number)}), today=date(2026, 5, 17))
    assert severity == "info"
    assert details == {
        "room": "101",
        "reader": "SAM-1",
        "result": "ok",
        "code": "90",
        "card_valid": True,
        "expired": False,
        "long_term": card.valid_to is None,
        "number_ok": True,
        "candidate": key.digest(card.number),
        "masked": card.number[:2] + "*" * 12 + card.number[-4:],
        "registered": True,
        "read_ms": 150,
    }
    _assert_no_personal_data(details, card)


def test_unregistered_expired_and_long_term_cards(cards: list[GeneratedCard]) -> None:
    key = CandidateKey(b"exam-key-2026-05-17")
    expired = next(c for c in cards if c.valid_to is not None and c.valid_to < date.today())
    long_term = next(c for c in cards if c.valid_to is None)
    severity, details = _facts(expired, key=key, roster=frozenset(), today=date.today())
    assert severity == "warning"
    assert (details["expired"], details["card_valid"], details["registered"]) == (True, False, False)
    severity, details = _facts(long_term, key=key, roster=None, today=date(2090, 1, 1))
    assert severity == "info"
    assert (details["long_term"], details["expired"], details["registered"]) == (True, False, None)


def test_without_a_key_there_is_no_candidate_hmac(cards: list[GeneratedCard]) -> None:
    _, details = _facts(cards[0], key=None, roster=None, today=date(2026, 5, 17))
    assert details["candidate"] is None
    assert details["registered"] is None
    assert details["masked"] == cards[0].number[:2] + "*" * 12 + cards[0].number[-4:]


def test_card_dates_are_judged_in_china_time() -> None:
    late_utc = datetime(2026, 5, 16, 17, 0, tzinfo=UTC)  # 01:00 on the 17th in Beijing
    assert checkin.card_day(late_utc) == date(2026, 5, 17)
    assert checkin.card_day(late_utc - timedelta(hours=2)) == date(2026, 5, 16)


AGENT = {"agent": {"city": "jinan", "site": "s01", "name": "a1"}, "broker": {"host": "127.0.0.1"}}


def _config(device: dict[str, object]) -> None:
    entry = {"driver": "idcard-sam", "id": "reader-101", "room": "101", **device}
    parse_config({**AGENT, "devices": [entry]}, "a.toml")


def test_the_config_file_selects_and_validates_the_driver(tmp_path: Path) -> None:
    parse_config(
        {**AGENT, "devices": [{"driver": "idcard-sam", "id": "r", "usb_ids": ["1a86:7523"], "key_file": "/k"}]}, "a"
    )
    with pytest.raises(ConfigError, match=r"devices\[0\]: .*needs `port`"):
        _config({})
    with pytest.raises(ConfigError, match=r"devices\[0\]\.usb_ids\[0\]: expected str matching regex"):
        _config({"usb_ids": ["1A86-7523"]})
    with pytest.raises(ConfigError, match="key_file must be an absolute path"):
        _config({"port": "/dev/ttyUSB0", "key_file": "exam.key"})
    with pytest.raises(ConfigError, match="roster_file needs key_file"):
        _config({"port": "/dev/ttyUSB0", "roster_file": "/r"})
    with pytest.raises(ConfigError, match=r"devices\[0\]\.baudrate"):
        _config({"port": "/dev/ttyUSB0", "baudrate": 115201})
    with pytest.raises(ConfigError, match=r"devices\[0\]\.timeout_s"):
        _config({"port": "/dev/ttyUSB0", "timeout_s": 0})
    config = IdcardSamConfig(id="r", port="/dev/ttyUSB0")
    assert (config.baudrate, config.timing().timeout_s, config.rule().ports) == (115200, 0.5, ("/dev/ttyUSB0",))


def test_the_readme_sample_config_is_valid() -> None:
    readme = (Path(__file__).resolve().parents[2] / "agent" / "drivers" / "idcard" / "README.md").read_text()
    sample = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    config = parse_config({**AGENT, **tomllib.loads(sample)}, "README.md")
    [device] = config.devices
    assert isinstance(device, IdcardSamConfig)
    assert device.usb_ids == ["1a86:7523", "10c4:ea60"]
