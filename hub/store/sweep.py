"""The liveness sweep: agents silent past the deadline go offline, with an alert."""

from __future__ import annotations

from datetime import datetime, timedelta

from hub import liveness
from hub.store import agents, alerts
from hub.store.connection import Connection, mapped_errors


def sweep_stale(conn: Connection, now: datetime, offline_after_s: float) -> list[liveness.Transition]:
    transitions: list[liveness.Transition] = []
    with mapped_errors("liveness sweep failed"), conn.transaction():
        candidates = agents.lock_stale(conn, now - timedelta(seconds=offline_after_s))
        changed = []
        for state in candidates:
            step = liveness.sweep(state, now=now, offline_after_s=offline_after_s)
            if step.transitions:
                changed.append(step.state)
                transitions.extend(step.transitions)
        agents.save_liveness(conn, changed, now)
        alerts.apply_transitions(conn, transitions)
    return transitions
