"""The roster pusher with plain data: who gets a roster when (an import, a new boot, a failed publish), and
what its log may say."""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime

import pytest

from hub.calendar.push import KnownAgent
from hub.errors import StoreUnavailable
from hub.roster.push import RosterPusher
from hub.store.roster import CurrentRoster
from protocol.codec import decode_roster

KEY = bytes(range(40, 72))
NOW = datetime(2026, 5, 17, 1, 0, tzinfo=UTC)


class FakeIO:
    def __init__(self) -> None:
        self.roster: CurrentRoster | None = None
        self.agents = [KnownAgent("jinan/s01/a1", "jinan/s01", "b1"), KnownAgent("zibo/s02/a1", "zibo/s02", "b7")]
        self.down = False

    def roster_version(self) -> int | None:
        if self.down:
            raise StoreUnavailable("database gone")
        return None if self.roster is None else self.roster.version

    def current_roster(self) -> CurrentRoster | None:
        return self.roster

    def known_agents(self) -> list[KnownAgent]:
        return list(self.agents)


def test_pushes_on_import_on_a_new_boot_and_after_a_failed_publish(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    io = FakeIO()
    sent: list[tuple[str, bytes]] = []
    accept = {"zibo/s02/a1": False}

    def publish(agent_id: str, payload: bytes) -> bool:
        if not accept.get(agent_id, True):
            return False
        sent.append((agent_id, payload))
        return True

    pusher = RosterPusher(io, publish, clock=lambda: NOW)
    pusher.tick()
    assert sent == []  # nothing imported: agents keep "never received"

    io.roster = CurrentRoster(1, "gen-exam", KEY, {"jinan/s01": {"101": ["ab" * 32]}})
    pusher.tick()
    assert [a for a, _ in sent] == ["jinan/s01/a1"]
    message = decode_roster(sent[0][1])
    assert (message.exam, message.site, message.key_bytes()) == ("gen-exam", "jinan/s01", KEY)
    assert [(r.room, r.candidates) for r in message.rooms] == [("101", ["ab" * 32])]

    accept["zibo/s02/a1"] = True  # the broker takes it now: the one that failed is tried again
    pusher.tick()
    assert [a for a, _ in sent] == ["jinan/s01/a1", "zibo/s02/a1"]
    assert decode_roster(sent[1][1]).rooms == []  # its site has nobody registered

    pusher.tick()
    assert len(sent) == 2  # nothing new

    io.agents[0] = KnownAgent("jinan/s01/a1", "jinan/s01", "b2")  # born again
    pusher.tick()
    assert [a for a, _ in sent[2:]] == ["jinan/s01/a1"]

    io.roster = CurrentRoster(2, "gen-exam", KEY, {"jinan/s01": {"101": ["cd" * 32]}})
    pusher.tick()
    assert sorted(a for a, _ in sent[3:]) == ["jinan/s01/a1", "zibo/s02/a1"]
    assert decode_roster(sent[3][1]).rooms[0].candidates == ["cd" * 32]

    io.down = True
    pusher.tick_safely()  # an outage is logged once, never raised
    pusher.tick_safely()
    assert sum("database unavailable" in r.getMessage() for r in caplog.records) == 1
    key_text = base64.b64encode(KEY).decode()
    assert all(key_text not in r.getMessage() for r in caplog.records)
    assert any("roster of exam gen-exam" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("roster", "reason"),
    [
        # Refused by the wire model's bound (msgspec, when checked) and by its own check (as it is built).
        (CurrentRoster(1, "x" * 65, KEY, {}), "field exam: expected str of length <= 64"),
        (CurrentRoster(1, "gen-exam", KEY[:16], {}), "key must be 32 bytes"),
    ],
)
def test_a_slice_that_cannot_be_built_is_logged_without_its_key_and_not_retried(
    roster: CurrentRoster, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    io = FakeIO()
    io.roster = roster
    sent: list[str] = []
    pusher = RosterPusher(io, lambda agent_id, _payload: sent.append(agent_id) is None, clock=lambda: NOW)
    pusher.tick()
    pusher.tick()
    assert sent == []
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2  # once per agent, not once per tick
    assert all(reason in text and "cannot be built" in text for text in errors)
    assert all(base64.b64encode(roster.key).decode() not in r.getMessage() for r in caplog.records)
    assert all(r.exc_info is None for r in caplog.records)
