"""The hub keeps each reader's SAM id from the births: stored with the device, shown by the site query,
a swapped reader logged, an older birth of the boot replayed late ignored, and a fresh birth's seq counted
as delivered by the gap finder.  Against a real PostgreSQL; ``replaced`` is pure and tested with plain data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from hub.inventory import Replaced, replaced
from hub.store import Accepted, Connection, apply_batch, connect, migrate
from hub.store.dashboard import site_detail
from hub.store.gaps import track_gaps
from protocol.messages import Birth, DeviceInfo, DeviceState, State

AGENT = "jinan/s01/a1"
BOOT = "00000000000000bb"
T0 = datetime(2026, 6, 7, 8, 0, tzinfo=UTC)
SAM_A = "05.01-20240517-0000004321-0000098765"
SAM_B = "05.01-20240517-0000000777-0000000888"


def reader(identity: str | None, device_id: str = "reader-101", room: str = "101") -> DeviceInfo:
    return DeviceInfo(kind="idcard", id=device_id, driver="idcard-sam", room=room, identity=identity)


def test_replaced_names_only_slots_whose_known_hardware_changed() -> None:
    devices = [reader(SAM_B), reader(None, "reader-102", "102"), reader(SAM_A, "reader-103", "103")]
    known = {"reader-101": SAM_A, "reader-102": SAM_A, "reader-104": SAM_B}
    assert replaced(AGENT, known, devices) == [Replaced(AGENT, "reader-101", "101", SAM_A, SAM_B)]
    assert replaced(AGENT, {}, devices) == []
    assert replaced(AGENT, {"reader-101": SAM_B}, devices) == []
    change = replaced(AGENT, known, devices)[0]
    assert change.describe() == f"agent {AGENT}: device reader-101 in room 101 replaced: {SAM_A} → {SAM_B}"


@pytest.fixture
def db(pg_dsn: str) -> Iterator[Connection]:
    conn = connect(pg_dsn, "identity-tests")
    migrate(conn)
    yield conn
    conn.close()


def birth(seq: int, *devices: DeviceInfo, historical: bool = False) -> Birth:
    return Birth(agent=AGENT, boot=BOOT, seq=seq, ts=T0 + timedelta(seconds=seq), sw_version="1.0",
                 started_at=T0, heartbeat_s=5.0, devices=list(devices), historical=historical)  # fmt: skip


def state(seq: int) -> State:
    ready = DeviceState(kind="idcard", id="reader-101", status="ok", details={"state": "ready"})
    return State(agent=AGENT, boot=BOOT, seq=seq, ts=T0 + timedelta(seconds=seq), devices=[ready])


def store(conn: Connection, *messages: Birth | State, at: datetime = T0) -> None:
    apply_batch(conn, [Accepted(m, at) for m in messages], at)


def identities(conn: Connection) -> dict[str, str | None]:
    detail = site_detail(conn, "jinan", "s01", since=T0 - timedelta(days=1))
    assert detail is not None
    return {d.device_id: d.identity for a in detail.agents for d in a.devices}


def test_the_hub_stores_the_identity_and_logs_a_swapped_reader(
    db: Connection, caplog: pytest.LogCaptureFixture
) -> None:
    store(db, birth(0, reader(None)), state(1))
    assert identities(db) == {"reader-101": None}

    store(db, birth(2, reader(SAM_A)), state(3))
    assert identities(db) == {"reader-101": SAM_A}

    # Restarted with the reader unplugged: the identity is not known yet, the last one stays shown.
    store(db, birth(4, reader(None)))
    assert identities(db) == {"reader-101": SAM_A}

    with caplog.at_level(logging.INFO, logger="sitewatch.hub.store.agents"):
        store(db, birth(5, reader(SAM_B)))
    assert identities(db) == {"reader-101": SAM_B}
    assert [r.getMessage() for r in caplog.records if "replaced" in r.getMessage()] == [
        f"agent {AGENT}: device reader-101 in room 101 replaced: {SAM_A} → {SAM_B}"
    ]

    # An earlier birth of this boot replayed after the fresh one (an outbox replay) changes nothing.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sitewatch.hub.store.agents"):
        store(db, birth(2, reader(SAM_A), historical=True))
    assert identities(db) == {"reader-101": SAM_B}
    assert not [r for r in caplog.records if "replaced" in r.getMessage()]

    # Every birth is kept with its inventory: which reader stood in room 101 when.
    rows = db.execute(
        "SELECT seq, devices->0->>'identity' FROM agent_births WHERE agent_id = %s ORDER BY seq", (AGENT,)
    ).fetchall()
    assert rows == [(0, None), (2, SAM_A), (4, None), (5, SAM_B)]


def test_a_fresh_birth_fills_its_seq_for_the_gap_finder(db: Connection) -> None:
    store(db, birth(0, reader(None)), state(1), birth(2, reader(SAM_A)), state(3), state(4))
    settings = {"timeout_s": 1.0, "window_s": 86400.0 * 365 * 10, "resend_every_s": 60.0}
    report = track_gaps(db, T0 + timedelta(seconds=60), **settings)
    assert report.opened == []
    # The finder does look: a seq really missing after the fresh birth is a gap.
    store(db, state(6))
    report = track_gaps(db, T0 + timedelta(seconds=120), **settings)
    assert [(h.first_seq, h.last_seq) for h in report.opened] == [(5, 5)]
