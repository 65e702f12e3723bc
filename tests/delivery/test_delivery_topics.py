"""The hub ingests what agents send, and only that: the hubs' own acks and commands are not its input."""

from __future__ import annotations

import psycopg
import pytest
from delivery_harness import NewAgent, StartHub

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("shared_group", [None, "ingest"])
def test_the_hub_does_not_quarantine_its_own_confirmations(
    start_hub: StartHub, new_agent: NewAgent, delivery_db: str, shared_group: str | None
) -> None:
    hub = start_hub("h1", shared_group=shared_group)
    agent = new_agent("a1", 40)
    agent.start()
    summary = agent.finish(60)
    assert summary["confirmed"] >= 41
    with psycopg.connect(delivery_db, autocommit=True) as conn:
        quarantined = conn.execute(
            "SELECT topic, error_code, count(*) FROM quarantine GROUP BY topic, error_code ORDER BY topic"
        ).fetchall()
    # Every committed batch sends the agent an ack on sw/v1/<agent>/ack, which the hub's own
    # sw/v1/+/+/+/+ subscription matches (a shared subscription cannot use no-local).
    assert quarantined == []
    counters = hub.counters()
    assert counters.get("quarantined", {}) == {}
    # Not even received: in a shared group every hub's acks and commands would otherwise take turns
    # with the agents' messages, and a re-sent record can keep landing on a dead member's session.
    assert counters.get("downlink_ignored", 0) == 0
