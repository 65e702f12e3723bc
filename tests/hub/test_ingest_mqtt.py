"""The ingest client's MQTT session settings (pure: no broker)."""

from __future__ import annotations

from hub.config import MqttSection
from hub.ingest.mqtt import SHARED_MEMBER_SESSION_EXPIRY_S, session_expiry_s


def test_a_single_hub_keeps_its_backlog_for_an_hour():
    assert session_expiry_s(MqttSection(host="broker")) == 3600


def test_a_group_member_gets_a_short_session_unless_configured():
    member = MqttSection(host="broker", shared_group="ingest")
    assert session_expiry_s(member) == SHARED_MEMBER_SESSION_EXPIRY_S == 120
    explicit = MqttSection(host="broker", shared_group="ingest", session_expiry_s=900)
    assert session_expiry_s(explicit) == 900
    assert session_expiry_s(MqttSection(host="broker", session_expiry_s=60)) == 60
