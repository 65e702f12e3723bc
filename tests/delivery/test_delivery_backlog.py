"""A hub that comes back to a backlog: the broker's queue for its session is stored, all of it, once.

While the hub is away the broker queues the fleet's messages for its persistent session; when it
resumes, the broker may hand them over faster than the hub stores them (Debian 12's Mosquitto 2.0.11
sends past the hub's Receive Maximum).  None of them may be left behind: a message the hub received
but never acknowledged is not sent again on the same connection.
"""

from __future__ import annotations

import contextlib

import pytest
from delivery_harness import StartHub, publish_backlog, stored_messages, wait_for

pytestmark = pytest.mark.integration

AGENTS = 50
PER_AGENT = 400


def test_a_backlog_larger_than_the_inbox_is_stored_after_the_hub_returns(
    broker: tuple[str, int], start_hub: StartHub, delivery_db: str
) -> None:
    hub = start_hub("h1")
    hub.stop()  # its session stays at the broker and queues what follows
    boots = publish_backlog(broker, [f"dlv/backlog{i:02d}/a1" for i in range(AGENTS)], PER_AGENT)
    hub.start()
    expected = AGENTS * PER_AGENT
    with contextlib.suppress(AssertionError):  # a shortfall is reported below, with the hub's counters
        wait_for(lambda: stored_messages(delivery_db, boots)[1] >= expected, 60, f"{expected} messages stored", 1.0)
    rows, distinct = stored_messages(delivery_db, boots)
    assert (rows, distinct) == (expected, expected), f"hub counters: {hub.counters()}"
