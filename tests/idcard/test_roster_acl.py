"""The exam key rides on an agent's own retained ``roster`` topic: on the real TLS Mosquitto with the ACL
``sitewatch pki acl`` generates, that agent receives it and another agent of the same site does not, by
name, by wildcard or through a shared subscription."""

from __future__ import annotations

import gc
import queue
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "security"))
from tls_helpers import TlsBroker, clients, running_tls_broker

from hub.pki.authority import Bundle, utc_now

pytestmark = pytest.mark.integration

HUB = "ingest-roster"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TlsBroker]:
    with running_tls_broker(tmp_path / "tls-broker") as live:
        live.pki.issue("hub", HUB)
        live.mosquitto.reload()  # the new hub identity gets its ACL block
        yield live
    gc.collect()  # paho closes its sockets only when collected (see tests/security/conftest.py)


def test_only_the_agent_itself_reads_its_roster(broker: TlsBroker) -> None:
    ca = broker.pki.ca_cert_path
    [issued] = broker.pki.index().valid(utc_now(), "hub", HUB)
    hub_bundle = Bundle(issued, broker.pki.bundle_folder("hub", HUB))
    with clients() as make:
        hub = make(broker.tls_port, ca=ca, bundle=hub_bundle)
        assert hub.outcome() == "connected"
        # Retained before anyone subscribes, as the pusher does.
        info = hub.client.publish("sw/v1/jinan/s20/a1/roster", b"key of a1", qos=1, retain=True)
        info.wait_for_publish(10)
        spy = make(broker.tls_port, ca=ca, bundle=broker.pki.issue("agent", "jinan/s20/a2"))
        assert spy.outcome() == "connected"
        for topic in ("sw/v1/jinan/s20/a1/roster", "sw/v1/+/+/+/roster", "$share/spy/sw/v1/jinan/s20/a1/#"):
            spy.subscribe(topic)
        owner = make(broker.tls_port, ca=ca, bundle=broker.pki.issue("agent", "jinan/s20/a1"))
        assert owner.outcome() == "connected"
        owner.subscribe("sw/v1/jinan/s20/a1/roster")
        got = owner.next_message()
        assert (got.topic, got.payload, got.retain) == ("sw/v1/jinan/s20/a1/roster", b"key of a1", True)
        with pytest.raises(queue.Empty):
            spy.messages.get(timeout=1.0)
