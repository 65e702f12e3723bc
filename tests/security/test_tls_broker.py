"""Identities on a real Mosquitto 2.0 with the TLS listener of the local stack (started by hub.stack code).

Each test uses its own agent names: revocations and retained messages stay in the module's broker.
"""

from __future__ import annotations

import queue
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from tls_helpers import HOST, TlsBroker, clients, running_tls_broker, until

from agent.config import AgentConfig, BrokerSection, parse_config
from agent.errors import PublishRefused
from agent.link import Link
from agent.outbox import MemoryOutbox
from agent.runner import AgentRunner
from hub.config import MqttSection
from hub.ingest.decode import decode
from hub.ingest.inbound import Inbound
from hub.ingest.mqtt import MqttIngest, new_inbox
from hub.pki.authority import Bundle, Pki, utc_now
from hub.pki.names import Role
from hub.rules.security import identity_alert
from hub.stats import Stats
from hub.store.records import Accepted, Rejected
from protocol.codec import encode
from protocol.examples import examples
from protocol.messages import Death
from protocol.topics import AgentPath

pytestmark = pytest.mark.integration

NOT_AUTHORISED = 135
# Success, and "no matching subscribers" (also a success: reason codes below 0x80 are).
ACCEPTED = (0, 16)
HUB = "ingest-1"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsBroker]:
    with running_tls_broker(tmp_path_factory.mktemp("tls-broker")) as live:
        live.pki.issue("hub", HUB)
        live.mosquitto.reload()  # the new hub identity gets its ACL block
        yield live


def _agent(broker: TlsBroker, agent_id: str) -> Bundle:
    return broker.pki.issue("agent", agent_id)


def _bundle(broker: TlsBroker, role: Role, name: str) -> Bundle:
    """The bundle of an identity issued earlier."""
    [issued] = broker.pki.index().valid(utc_now(), role, name)
    return Bundle(issued, broker.pki.bundle_folder(role, name))


def _broker_section(broker: TlsBroker, bundle: Bundle) -> BrokerSection:
    return BrokerSection(
        host=HOST,
        port=broker.tls_port,
        reconnect_min_s=0.1,
        reconnect_max_s=0.5,
        tls_ca=str(bundle.ca),
        tls_cert=str(bundle.cert),
        tls_key=str(bundle.key),
    )


def _agent_config(broker: TlsBroker, bundle: Bundle) -> AgentConfig:
    path = AgentPath.from_agent_id(bundle.issued.name)
    data = {
        "agent": {"city": path.city, "site": path.site, "name": path.agent, "heartbeat_s": 0.5},
        "broker": {k: v for k, v in msgspec.to_builtins(_broker_section(broker, bundle)).items() if v is not None},
        "devices": [{"driver": "sim-jammer", "id": "jammer-101"}],
    }
    return parse_config(data, "generated-test-agent.toml")


def test_an_agent_of_site_b_cannot_publish_under_site_a(broker: TlsBroker) -> None:
    bundle = _agent(broker, "qingdao/s02/a1")
    path = AgentPath.from_agent_id("qingdao/s02/a1")
    will = Death(agent=path.agent_id, boot="0123456789abcdef", seq=0, ts=examples()["death"].ts, reason="will")
    link = Link(_broker_section(broker, bundle), path, will)
    link.start()
    try:
        until(lambda: link.connected, "the agent's TLS connection")
        own = msgspec.structs.replace(examples()["heartbeat"], agent=path.agent_id)
        link.wait_published(link.publish("sw/v1/qingdao/s02/a1/heartbeat", encode(own)), 10)

        forged = examples()["heartbeat"]  # names jinan/s01/a1, on jinan/s01/a1's topic
        with pytest.raises(PublishRefused) as refused:
            link.wait_published(link.publish("sw/v1/jinan/s01/a1/heartbeat", encode(forged)), 10)
        assert refused.value.reason_code == NOT_AUTHORISED
        assert link.connected  # refused, not disconnected: the agent must not retry
    finally:
        link.close()


def test_only_clients_with_a_certificate_of_our_ca_get_in(broker: TlsBroker, tmp_path: Path) -> None:
    stranger_ca = Pki(tmp_path / "stranger")
    stranger_ca.init("stranger")
    stranger = stranger_ca.issue("agent", "jinan/s01/a5")
    ca = broker.pki.ca_cert_path
    with clients() as make:
        assert make(broker.tls_port, ca=ca, bundle=_agent(broker, "jinan/s01/a4")).outcome() == "connected"
        assert make(broker.tls_port, ca=ca).outcome() == "refused"  # no client certificate
        assert make(broker.tls_port, ca=None, tls=False).outcome() == "refused"  # plain MQTT
        assert make(broker.tls_port, ca=ca, bundle=stranger).outcome() == "refused"
        # The broker's own certificate is for serverAuth only.
        assert make(broker.tls_port, ca=ca, bundle=_bundle(broker, "broker", HOST)).outcome() == "refused"
        # The development listener stays open, on loopback only.
        assert make(broker.plain_port, ca=None, tls=False).outcome() == "connected"
    log = broker.log()
    assert "peer did not return a certificate" in log
    assert "certificate verify failed" in log


def test_a_revoked_certificate_is_refused_after_a_reload(broker: TlsBroker) -> None:
    held_bundle = _agent(broker, "jinan/s07/a1")
    probe_bundle = _agent(broker, "jinan/s07/a3")
    ca = broker.pki.ca_cert_path
    topic = "sw/v1/jinan/s07/a1/state"
    with clients() as make:
        held = make(broker.tls_port, ca=ca, bundle=held_bundle)
        assert held.outcome() == "connected"
        assert held.publish(topic, b"{}") in ACCEPTED

        broker.pki.revoke("jinan/s07/a1")
        broker.pki.revoke("jinan/s07/a3")
        # Mosquitto reads the CRL only when it starts or reloads.
        early = make(broker.tls_port, ca=ca, bundle=probe_bundle)
        assert early.outcome() == "connected"
        early.close()
        broker.mosquitto.reload()

        assert make(broker.tls_port, ca=ca, bundle=probe_bundle).outcome() == "refused"
        assert make(broker.tls_port, ca=ca, bundle=held_bundle).outcome() == "refused"
        # A connection opened before the revocation stays up, but the reloaded ACL denies the identity.
        assert not held.disconnected.is_set()
        assert held.publish(topic, b"{}") == NOT_AUTHORISED
        # Someone else is unaffected.
        other = make(broker.tls_port, ca=ca, bundle=_agent(broker, "jinan/s07/a2"))
        assert other.outcome() == "connected"
        assert other.publish("sw/v1/jinan/s07/a2/state", b"{}") in ACCEPTED


def test_a_replaced_certificate_keeps_the_identity_working(broker: TlsBroker) -> None:
    old = _agent(broker, "jinan/s08/a1")
    old_cert = old.cert.read_bytes()
    new = broker.pki.issue("agent", "jinan/s08/a1", replace=True)
    broker.mosquitto.reload()
    ca = broker.pki.ca_cert_path
    with clients() as make:
        fresh = make(broker.tls_port, ca=ca, bundle=new)
        assert fresh.outcome() == "connected"
        assert fresh.publish("sw/v1/jinan/s08/a1/state", b"{}") in ACCEPTED
        assert new.cert.read_bytes() != old_cert


def test_an_agent_cannot_take_over_another_agents_session(broker: TlsBroker) -> None:
    ca = broker.pki.ca_cert_path
    with clients() as make:
        victim = make(broker.tls_port, ca=ca, bundle=_agent(broker, "jinan/s09/a1"), client_id="jinan/s09/a1")
        assert victim.outcome() == "connected"
        thief = make(broker.tls_port, ca=ca, bundle=_agent(broker, "jinan/s09/a2"), client_id="jinan/s09/a1")
        assert thief.outcome() == "connected"
        # The broker made the thief's client id its own CN, so the victim's session was not handed over.
        assert victim.publish("sw/v1/jinan/s09/a1/state", b"{}") in ACCEPTED
        assert not victim.disconnected.is_set()
    assert "as jinan/s09/a2 (" in broker.log()


def test_an_agent_reads_only_its_own_acks_and_commands(broker: TlsBroker) -> None:
    ca = broker.pki.ca_cert_path
    hub_bundle = _bundle(broker, "hub", HUB)
    with clients() as make:
        agent = make(broker.tls_port, ca=ca, bundle=_agent(broker, "jinan/s10/a1"))
        assert agent.outcome() == "connected"
        agent.subscribe("sw/v1/+/+/+/command")
        agent.subscribe("sw/v1/jinan/s10/a2/ack")
        agent.subscribe("$share/spy/sw/v1/jinan/s10/a2/#")
        hub = make(broker.tls_port, ca=ca, bundle=hub_bundle)
        assert hub.outcome() == "connected"
        assert hub.publish("sw/v1/jinan/s10/a2/command", b"not yours") in ACCEPTED
        assert hub.publish("sw/v1/jinan/s10/a2/ack", b"not yours") in ACCEPTED
        assert hub.publish("sw/v1/jinan/s10/a1/command", b"yours") in ACCEPTED
        got = agent.next_message()
        assert (got.topic, got.payload) == ("sw/v1/jinan/s10/a1/command", b"yours")
        assert agent.messages.empty()
        # Nor may it write to the hub → agent topics, its own included.
        assert agent.publish("sw/v1/jinan/s10/a1/ack", b"{}") == NOT_AUTHORISED


def test_agent_and_hub_talk_over_tls_and_a_forgery_raises_a_security_alert(broker: TlsBroker) -> None:
    hub_bundle = _bundle(broker, "hub", HUB)
    section = MqttSection(
        host=HOST,
        port=broker.tls_port,
        client_id=HUB,
        shared_group="sitewatch",
        tls_ca=hub_bundle.ca,
        tls_cert=hub_bundle.cert,
        tls_key=hub_bundle.key,
    )
    inbox: queue.Queue[Inbound] = new_inbox()
    stats = Stats()
    hub = MqttIngest(section, inbox, stats)
    hub.start()
    runner = AgentRunner(_agent_config(broker, _agent(broker, "jinan/s11/a1")), MemoryOutbox())
    try:
        until(lambda: stats.mqtt_connected, "the hub's TLS connection")
        runner.start()
        birth = _next_from(inbox, "sw/v1/jinan/s11/a1/birth")
        item = decode(birth)
        assert isinstance(item, Accepted)
        assert item.message.agent == "jinan/s11/a1"
        hub.ack(birth.mid, birth.qos)

        # The broker cannot see payloads: a forgery on the sender's own topic gets through to the hub ...
        with clients() as make:
            forger = make(broker.tls_port, ca=broker.pki.ca_cert_path, bundle=_agent(broker, "qingdao/s12/a1"))
            assert forger.outcome() == "connected"
            forged = examples()["heartbeat"]  # names jinan/s01/a1
            assert forger.publish("sw/v1/qingdao/s12/a1/heartbeat", encode(forged)) in ACCEPTED
        got = _next_from(inbox, "sw/v1/qingdao/s12/a1/heartbeat")
        hub.ack(got.mid, got.qos)
    finally:
        runner.stop()
        hub.stop()
    # ... where it is quarantined and raises a critical alert naming the real sender.
    rejected = decode(got)
    assert isinstance(rejected, Rejected)
    assert rejected.code == "identity_mismatch"
    alert = identity_alert(rejected.topic, rejected.payload, rejected.code, rejected.received_at)
    assert alert is not None
    assert (alert.severity, alert.agent_id, alert.details["claimed_agent"]) == (
        "critical",
        "qingdao/s12/a1",
        "jinan/s01/a1",
    )
    assert runner.link.counters.refused == 0


def _next_from(inbox: queue.Queue[Inbound], topic: str) -> Inbound:
    seen: list[str] = []
    while True:
        try:
            got = inbox.get(timeout=10)
        except queue.Empty:
            raise AssertionError(f"nothing on {topic} within 10 s; saw {seen}") from None
        if got.topic == topic:
            return got
        seen.append(got.topic)
