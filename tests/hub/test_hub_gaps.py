"""Sequence gaps: the pure range logic, and tracking against a real PostgreSQL (stored rows, alerts)."""

from __future__ import annotations

from datetime import timedelta

from hub_messages import AGENT, T0, birth, heartbeat

from hub.gaps import Hole, classify, intersect, subtract
from hub.store import Accepted, Connection, apply_batch, migrate
from hub.store.gaps import track_gaps
from protocol.messages import Event

BOOT = "00000000000000aa"


def test_subtract_and_intersect_inclusive_ranges() -> None:
    assert subtract([(1, 10)], [(3, 4), (8, 12)]) == [(1, 2), (5, 7)]
    assert subtract([(1, 3)], []) == [(1, 3)]
    assert subtract([(5, 5)], [(5, 5)]) == []
    assert intersect([(1, 10)], [(3, 4), (8, 12)]) == [(3, 4), (8, 10)]


def test_classify_splits_missing_from_thinned() -> None:
    holes = [Hole(AGENT, BOOT, 10, 20), Hole(AGENT, "other0000", 5, 6)]
    missing, thinned = classify(holes, {(AGENT, BOOT): [(10, 15)]})
    assert missing == [Hole(AGENT, BOOT, 16, 20), Hole(AGENT, "other0000", 5, 6)]
    assert thinned == [Hole(AGENT, BOOT, 10, 15)]
    assert Hole(AGENT, BOOT, 120, 180).describe() == f"agent {AGENT}: readings 120–180 missing (boot {BOOT})"


def _store(conn: Connection, *seqs: int, received_offset_s: float = 0) -> None:
    at = T0 + timedelta(seconds=received_offset_s)
    apply_batch(conn, [Accepted(heartbeat(BOOT, seq), at) for seq in seqs], at)


def _gap_alerts(conn: Connection) -> list[tuple[str, bool]]:
    rows = conn.execute(
        "SELECT summary, closed_at IS NULL FROM alerts WHERE kind = 'sequence_gap' ORDER BY id"
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def test_a_gap_is_recorded_alerted_resent_then_closed_when_filled(store_conn: Connection) -> None:
    migrate(store_conn)
    apply_batch(store_conn, [Accepted(birth(BOOT), T0)], T0)
    _store(store_conn, 1, 2, 3, 7, 8)
    settings = {"timeout_s": 30.0, "window_s": 86400.0 * 365 * 10, "resend_every_s": 60.0}

    too_soon = track_gaps(store_conn, T0 + timedelta(seconds=10), **settings)
    assert too_soon.opened == []  # the later seq arrived 10 s ago: the run may still be on its way

    later = T0 + timedelta(seconds=40)
    report = track_gaps(store_conn, later, **settings)
    assert report.opened == [Hole(AGENT, BOOT, 4, 6)]
    assert report.resend == [Hole(AGENT, BOOT, 4, 6)]
    assert _gap_alerts(store_conn) == [(f"agent {AGENT}: readings 4–6 missing (boot {BOOT})", True)]
    again = track_gaps(store_conn, later + timedelta(seconds=5), **settings)
    assert (again.opened, again.resend) == ([], [])  # once per gap, and no resend before resend_every_s
    assert track_gaps(store_conn, later + timedelta(seconds=61), **settings).resend == [Hole(AGENT, BOOT, 4, 6)]

    _store(store_conn, 5, received_offset_s=100)
    partly = track_gaps(store_conn, later + timedelta(seconds=200), **settings)
    assert partly.filled == []
    _store(store_conn, 4, 6, received_offset_s=101)
    done = track_gaps(store_conn, later + timedelta(seconds=201), **settings)
    assert done.filled[0].first_seq == 4
    assert _gap_alerts(store_conn)[0][1] is False
    row = store_conn.execute("SELECT outcome, missing FROM seq_gaps WHERE first_seq = 4").fetchone()
    assert row == ("filled", 0)


def test_runs_the_agent_reported_thinning_are_recorded_without_an_alert(store_conn: Connection) -> None:
    migrate(store_conn)
    _store(store_conn, 1, 2, 9)
    thinned = Event(
        agent=AGENT,
        boot=BOOT,
        seq=10,
        ts=T0 + timedelta(seconds=10),
        name="outbox.thinned",
        severity="warning",
        details={"boot": BOOT, "first_seq": 3, "last_seq": 8, "count": 6},
    )
    apply_batch(store_conn, [Accepted(thinned, T0)], T0)
    report = track_gaps(store_conn, T0 + timedelta(seconds=60), timeout_s=30, window_s=1e9, resend_every_s=60)
    assert (report.opened, report.thinned) == ([], [Hole(AGENT, BOOT, 3, 8)])
    assert _gap_alerts(store_conn) == []
    assert store_conn.execute("SELECT outcome, closed_at IS NOT NULL FROM seq_gaps").fetchall() == [("thinned", True)]


def test_a_long_replay_shows_no_false_hole_before_its_window(store_conn: Connection) -> None:
    """A boot replayed hours late: its birth (seq 0) and its early readings are older than the window by
    device time, though all were received just now; only the readings inside the window are judged."""
    migrate(store_conn)
    received = T0 + timedelta(hours=3)
    apply_batch(store_conn, [Accepted(birth(BOOT), received)], received)
    readings = [heartbeat(BOOT, seq, ts=T0 + timedelta(minutes=seq)) for seq in range(1, 181)]
    apply_batch(store_conn, [Accepted(m, received) for m in readings], received)
    now = received + timedelta(seconds=60)
    report = track_gaps(store_conn, now, timeout_s=30, window_s=2 * 3600, resend_every_s=60)
    assert (report.opened, report.resend) == ([], [])
    # A real hole inside the window is still found.
    store_conn.execute("DELETE FROM heartbeats WHERE seq BETWEEN 150 AND 152")
    report = track_gaps(store_conn, now + timedelta(seconds=1), timeout_s=30, window_s=2 * 3600, resend_every_s=60)
    assert report.opened == [Hole(AGENT, BOOT, 150, 152)]
