"""Applying one batch of received messages in one transaction.

Order inside the transaction: quarantine rows; the row locks of the batch's agents; time-series rows
(telling which messages are new, which needs those locks); then, per agent, the liveness machine
replays the batch's messages in arrival order and its transitions open or close alerts; last, device
statuses.  Either all of it commits or none of it does, so the writer may ack the whole batch after the
commit — and only then.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

import psycopg
from psycopg import pq

from hub import liveness
from hub.liveness import AgentLiveness, Step
from hub.store import agents, alerts, timeseries
from hub.store.connection import Connection, mapped_errors
from hub.store.records import Accepted, BatchResult, Item, Rejected
from hub.store.timeseries import MessageKey
from protocol.messages import Birth, Death, DeviceState, State

log = logging.getLogger("sitewatch.hub.store")


def _clean_text(value: str) -> str:
    # PostgreSQL text cannot hold NUL; the raw bytes are kept in the payload column anyway.
    return value.replace("\x00", "\\x00")


def insert_quarantine(conn: Connection, rejected: Sequence[Rejected]) -> None:
    if not rejected:
        return
    conn.execute(
        "INSERT INTO quarantine (received_at, topic, payload, error_code, reason, agent_id, boot, seq)"
        " SELECT * FROM unnest(%s::timestamptz[], %s::text[], %s::bytea[], %s::text[], %s::text[],"
        " %s::text[], %s::text[], %s::bigint[])",
        (
            [r.received_at for r in rejected],
            [_clean_text(r.topic) for r in rejected],
            [r.payload for r in rejected],
            [r.code for r in rejected],
            [_clean_text(r.reason) for r in rejected],
            [r.key[0] if r.key else None for r in rejected],
            [r.key[1] if r.key else None for r in rejected],
            [r.key[2] if r.key else None for r in rejected],
        ),
    )


def _step(
    state: AgentLiveness, item: Accepted, new_keys: set[MessageKey], conn: Connection, result: BatchResult
) -> AgentLiveness:
    msg, now = item.message, item.received_at
    step: Step
    if isinstance(msg, Birth):
        agents.record_session(conn, msg, now)
        step = liveness.on_birth(state, boot=msg.boot, started_at=msg.started_at, now=now, retained=item.retained)
        if step.verdict == "applied":
            agents.adopt_birth(conn, msg)
    elif isinstance(msg, Death):
        agents.end_session(conn, msg)
        step = liveness.on_death(state, boot=msg.boot, reason=msg.reason, now=now)
    else:
        key = (msg.agent, msg.boot, msg.seq)
        if key not in new_keys:
            result.duplicates += 1
            return state
        new_keys.discard(key)  # a second copy later in the same batch is a duplicate too
        result.stored += 1
        step = liveness.on_traffic(state, boot=msg.boot, historical=msg.historical, now=now, retained=item.retained)
    if step.verdict != "applied":
        result.ignored[f"{msg.type}_{step.verdict}"] += 1
    result.transitions.extend(step.transitions)
    return step.state


def _readings(accepted: Sequence[Accepted]) -> list[tuple[str, DeviceState, datetime]]:
    return [
        (i.message.agent, d, i.message.ts) for i in accepted if isinstance(i.message, State) for d in i.message.devices
    ]


@contextmanager
def _transaction(conn: Connection) -> Iterator[None]:
    """Roll back what the block began, if it fails.

    The block sends ``BEGIN`` and ``COMMIT`` itself, inside its first and last pipelines, so that they
    share round trips with the batch's statements: psycopg's own transaction block would cost one
    round trip each (and syncs a pipeline it is opened in).  Round trips are what a busy machine makes
    expensive: each one waits for the server to be scheduled, then for this thread to get the GIL back.
    """
    try:
        yield
    except BaseException:
        if not conn.closed and conn.info.transaction_status != pq.TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error as exc:  # the original error says more; a broken connection is replaced
                log.debug("rolling back a failed batch failed too: %s", exc)
        raise


def apply_batch(conn: Connection, items: Sequence[Item], now: datetime) -> BatchResult:
    """Store a batch atomically.  ``now`` stamps ``updated_at``; liveness uses each message's receive time."""
    accepted = [i for i in items if isinstance(i, Accepted)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    result = BatchResult()
    agent_ids = sorted({i.message.agent for i in accepted})
    with mapped_errors("storing a batch failed"), _transaction(conn):
        # Statements whose results nobody waits for share round trips; a fetch sends what is queued.
        with conn.pipeline():
            conn.execute("BEGIN")
            insert_quarantine(conn, rejected)
            result.quarantined.update(r.code for r in rejected)
            if not agent_ids:
                conn.execute("COMMIT")
                return result
            # The agents' row locks come first: the time-series insert relies on them (see timeseries).
            # Agents are nearly always known already; only a batch naming a new one pays for creating it.
            states = agents.lock_liveness(conn, agent_ids)
            if len(states) < len(agent_ids):
                agents.ensure_agents(conn, agent_ids, now)
                states = agents.lock_liveness(conn, agent_ids)
        new_keys = timeseries.insert_timeseries(conn, accepted)
        with conn.pipeline():
            for item in accepted:
                agent = item.message.agent
                states[agent] = _step(states[agent], item, new_keys, conn, result)
            agents.save_liveness(conn, states.values(), now)
            alerts.apply_transitions(conn, result.transitions)
            agents.update_device_status(conn, _readings(accepted))
            conn.execute("COMMIT")
    return result
