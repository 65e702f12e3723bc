"""Finding and tracking sequence gaps in what agents delivered (run by the leader hub only).

A gap is a run of seqs of one boot that is absent while a later seq of that boot arrived more than
``timeout`` ago.  Every message an agent produces is kept in its outbox until confirmed, so a gap
means something upstream went wrong or is still on its way: the hub records it, raises an alert
naming the run, and asks the agent to resend; the alert closes when the run arrives.  Runs the agent
itself reported thinning (``outbox.thinned`` events) are recorded as such, without an alert.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.gaps import Hole, Range, classify
from hub.store import alerts
from hub.store.connection import Connection, mapped_errors

SEQUENCE_GAP = "sequence_gap"

# Every seq an agent's boot is known to have delivered: stored, or quarantined with a readable key.  Each
# table is cut by the device time of its rows (births too): a birth cut by receive time would count a
# replayed boot's seq 0 and none of its older readings, a false hole across the whole backlog.
_SEEN = """
    SELECT agent_id, boot, seq, received_at FROM heartbeats WHERE time > %(since)s
    UNION ALL SELECT agent_id, boot, seq, received_at FROM events WHERE time > %(since)s
    UNION ALL SELECT agent_id, boot, seq, received_at FROM device_states WHERE time > %(since)s
    UNION ALL SELECT agent_id, boot, seq, received_at FROM snapshots WHERE time > %(since)s
    UNION ALL SELECT agent_id, boot, seq, received_at FROM agent_births WHERE born_at > %(since)s
    UNION ALL SELECT agent_id, boot, seq, received_at FROM quarantine
        WHERE agent_id IS NOT NULL AND received_at > %(since)s
"""


@dataclass(frozen=True, slots=True)
class GapReport:
    opened: list[Hole]
    thinned: list[Hole]
    filled: list[Hole]
    resend: list[Hole]


def fingerprint(hole: Hole) -> str:
    return f"{SEQUENCE_GAP}:{hole.agent_id}:{hole.boot}:{hole.first_seq}"


def _holes(conn: Connection, since: datetime, settled_before: datetime) -> list[Hole]:
    rows = conn.execute(
        f"""
        WITH seen AS (SELECT agent_id, boot, seq, max(received_at) AS received_at FROM ({_SEEN}) s
                      GROUP BY agent_id, boot, seq),
             ordered AS (SELECT agent_id, boot, seq, received_at,
                                lag(seq) OVER (PARTITION BY agent_id, boot ORDER BY seq) AS prev FROM seen)
        SELECT agent_id, boot, prev + 1, seq - 1 FROM ordered
        WHERE prev IS NOT NULL AND seq > prev + 1 AND received_at < %(settled)s
        """,  # noqa: S608  # _SEEN is a constant of this module
        {"since": since, "settled": settled_before},
    ).fetchall()
    return [Hole(r[0], r[1], int(r[2]), int(r[3])) for r in rows]


def _thinned(conn: Connection, since: datetime) -> dict[tuple[str, str], list[Range]]:
    rows = conn.execute(
        "SELECT agent_id, details->>'boot', (details->>'first_seq')::bigint, (details->>'last_seq')::bigint"
        " FROM events WHERE name = 'outbox.thinned' AND time > %s",
        (since,),
    ).fetchall()
    out: defaultdict[tuple[str, str], list[Range]] = defaultdict(list)
    for agent, boot, lo, hi in rows:
        if boot is not None and lo is not None and hi is not None:
            out[(agent, boot)].append((int(lo), int(hi)))
    return out


def _count_seen(conn: Connection, hole: Hole, since: datetime) -> int:
    row = conn.execute(
        f"SELECT count(DISTINCT seq) FROM ({_SEEN}) s"  # noqa: S608  # constant
        " WHERE agent_id = %(agent)s AND boot = %(boot)s AND seq BETWEEN %(lo)s AND %(hi)s",
        {"since": since, "agent": hole.agent_id, "boot": hole.boot, "lo": hole.first_seq, "hi": hole.last_seq},
    ).fetchone()
    return int(row[0]) if row else 0


def track_gaps(
    conn: Connection, now: datetime, *, timeout_s: float, window_s: float, resend_every_s: float
) -> GapReport:
    since = now - timedelta(seconds=window_s)
    report = GapReport([], [], [], [])
    with mapped_errors("tracking sequence gaps failed"), conn.transaction():
        missing, thinned = classify(_holes(conn, since, now - timedelta(seconds=timeout_s)), _thinned(conn, since))
        for hole in thinned:
            row = conn.execute(
                "INSERT INTO seq_gaps (agent_id, boot, first_seq, last_seq, missing, detected_at, closed_at, outcome)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, 'thinned') ON CONFLICT DO NOTHING RETURNING id",
                (hole.agent_id, hole.boot, hole.first_seq, hole.last_seq, hole.size, now, now),
            ).fetchone()
            if row is not None:
                report.thinned.append(hole)
        for hole in missing:
            row = conn.execute(
                "INSERT INTO seq_gaps (agent_id, boot, first_seq, last_seq, missing, detected_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)"
                " ON CONFLICT (agent_id, boot, first_seq) DO UPDATE SET last_seq = excluded.last_seq,"
                " missing = excluded.missing WHERE seq_gaps.closed_at IS NULL"
                " RETURNING (xmax = 0)",
                (hole.agent_id, hole.boot, hole.first_seq, hole.last_seq, hole.size, now),
            ).fetchone()
            if row is not None and row[0]:
                report.opened.append(hole)
                alerts.open_alert(
                    conn,
                    fingerprint=fingerprint(hole),
                    kind=SEQUENCE_GAP,
                    severity="warning",
                    agent_id=hole.agent_id,
                    summary=hole.describe(),
                    details={"boot": hole.boot, "first_seq": hole.first_seq, "last_seq": hole.last_seq},
                    opened_at=now,
                )
        open_rows = conn.execute(
            "SELECT agent_id, boot, first_seq, last_seq, resend_requested_at FROM seq_gaps WHERE closed_at IS NULL"
        ).fetchall()
        for agent, boot, lo, hi, asked in open_rows:
            hole = Hole(agent, boot, int(lo), int(hi))
            if _count_seen(conn, hole, since) >= hole.size:
                conn.execute(
                    "UPDATE seq_gaps SET closed_at = %s, outcome = 'filled', missing = 0"
                    " WHERE agent_id = %s AND boot = %s AND first_seq = %s",
                    (now, agent, boot, lo),
                )
                alerts.close_alert(conn, fingerprint(hole), now)
                report.filled.append(hole)
            elif asked is None or now - asked >= timedelta(seconds=resend_every_s):
                conn.execute(
                    "UPDATE seq_gaps SET resend_requested_at = %s, resend_count = resend_count + 1"
                    " WHERE agent_id = %s AND boot = %s AND first_seq = %s",
                    (now, agent, boot, lo),
                )
                report.resend.append(hole)
    return report
