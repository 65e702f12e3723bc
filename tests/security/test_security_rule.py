"""The security alert for a quarantined identity mismatch (pure: quarantined fields in, a decision out)."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import UTC, datetime

import msgspec

from hub.ingest.decode import decode
from hub.ingest.inbound import Inbound
from hub.rules.security import KIND, identity_alert
from hub.store.records import Rejected
from protocol.codec import encode
from protocol.examples import examples

AT = datetime(2030, 6, 7, 8, 30, tzinfo=UTC)


def _quarantined(topic: str, payload: bytes) -> Rejected:
    item = decode(Inbound(topic, payload, 1, 1, AT))
    assert isinstance(item, Rejected)
    return item


def _heartbeat(agent: str) -> bytes:
    return encode(msgspec.structs.replace(examples()["heartbeat"], agent=agent))


def test_a_payload_naming_another_site_is_a_critical_alert_about_the_sender() -> None:
    rejected = _quarantined("sw/v1/jinan/s01/a1/heartbeat", _heartbeat("qingdao/s02/a1"))
    assert rejected.code == "identity_mismatch"

    alert = identity_alert(rejected.topic, rejected.payload, rejected.code, rejected.received_at)

    assert alert is not None
    assert (alert.kind, alert.severity, alert.agent_id) == (KIND, "critical", "jinan/s01/a1")
    assert alert.fingerprint == "security.identity_mismatch:jinan/s01/a1:critical"
    assert alert.summary == "Agent jinan/s01/a1 sent a message claiming to be qingdao/s02/a1; quarantined"
    assert alert.opened_at == AT
    assert alert.details == {
        "topic": "sw/v1/jinan/s01/a1/heartbeat",
        "claimed_agent": "qingdao/s02/a1",
        "claimed_type": "heartbeat",
        "topic_kind": "heartbeat",
    }
    # Shaped for hub.store.alerts.open_alert(conn, **asdict(alert)).
    assert set(asdict(alert)) == {"fingerprint", "kind", "severity", "agent_id", "summary", "opened_at", "details"}


def test_every_forgery_from_one_sender_folds_into_one_alert() -> None:
    first = identity_alert("sw/v1/jinan/s01/a1/heartbeat", _heartbeat("qingdao/s02/a1"), "identity_mismatch", AT)
    other = identity_alert("sw/v1/jinan/s01/a1/heartbeat", _heartbeat("jinan/s02/a7"), "identity_mismatch", AT)
    elsewhere = identity_alert("sw/v1/jinan/s03/a1/heartbeat", _heartbeat("jinan/s01/a1"), "identity_mismatch", AT)
    assert first is not None
    assert other is not None
    assert elsewhere is not None
    assert first.fingerprint == other.fingerprint != elsewhere.fingerprint


def test_a_type_mix_up_by_the_agent_itself_is_only_a_warning() -> None:
    rejected = _quarantined("sw/v1/jinan/s01/a1/state", _heartbeat("jinan/s01/a1"))
    alert = identity_alert(rejected.topic, rejected.payload, rejected.code, rejected.received_at)
    assert alert is not None
    assert alert.severity == "warning"
    assert alert.fingerprint.endswith(":warning")
    assert alert.summary == "Agent jinan/s01/a1 sent a heartbeat message on its state topic"


def test_only_validated_values_reach_the_summary() -> None:
    payload = json.dumps({"agent": "x\n<script>", "type": "Robert'); DROP"}).encode()
    alert = identity_alert("sw/v1/jinan/s01/a1/event", payload, "identity_mismatch", AT)
    assert alert is not None
    assert alert.severity == "critical"
    assert alert.summary == "Agent jinan/s01/a1 sent a message claiming to be an invalid agent id; quarantined"
    assert alert.details["claimed_agent"] is None
    assert alert.details["claimed_type"] is None
    assert identity_alert("sw/v1/jinan/s01/a1/event", b"\xff not json", "identity_mismatch", AT) is not None


def test_other_quarantine_codes_and_bad_topics_raise_nothing() -> None:
    assert identity_alert("sw/v1/jinan/s01/a1/heartbeat", b"{}", "schema", AT) is None
    assert identity_alert("not/a/topic", _heartbeat("jinan/s01/a1"), "identity_mismatch", AT) is None
