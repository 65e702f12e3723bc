"""TLS keys in the agent's and the hub's config, and the broker config and ACL the stack generates."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.config import BrokerSection
from agent.config import load_config as load_agent_config
from agent.errors import ConfigError, LinkError
from agent.link import Link
from hub.config import MqttSection
from hub.config import load_config as load_hub_config
from hub.errors import HubConfigError, IngestError
from hub.ingest.mqtt import MqttIngest, new_inbox
from hub.pki.acl import render_acl
from hub.stack.mosquitto import acl_path, render_config
from hub.stack.settings import StackSettings
from hub.stats import Stats
from protocol.messages import Death
from protocol.topics import DOWN_KINDS, UP_KINDS, AgentPath

AGENT = """
[agent]
city = "jinan"
site = "s01"
name = "a1"

[broker]
host = "127.0.0.1"
port = 8883
{tls}

[[devices]]
driver = "sim-jammer"
id = "jammer-101"
"""

HUB = """
[hub]
name = "jinan"

[mqtt]
host = "127.0.0.1"
port = 8883
client_id = "ingest-1"
{tls}

[database]
dsn = "postgresql://localhost/sitewatch"
"""

TLS = 'tls_ca = "certs/ca.pem"\ntls_cert = "certs/cert.pem"\ntls_key = "/abs/key.pem"'


def _tls_files(folder: Path) -> Path:
    (folder / "certs").mkdir(parents=True)
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (folder / "certs" / name).write_text("not checked here\n", encoding="utf-8")
    return folder / "certs"


def _write(folder: Path, text: str) -> Path:
    path = folder / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_agent_tls_files_resolve_against_the_config_folder(tmp_path: Path) -> None:
    certs = _tls_files(tmp_path / "site")
    tls = TLS.replace("/abs/key.pem", str(certs / "key.pem"))
    broker = load_agent_config(_write(tmp_path / "site", AGENT.format(tls=tls))).broker
    assert broker.tls
    assert (broker.tls_ca, broker.tls_cert, broker.tls_key) == tuple(
        str(certs / name) for name in ("ca.pem", "cert.pem", "key.pem")
    )
    assert not load_agent_config(_write(tmp_path, AGENT.format(tls=""))).broker.tls


def test_agent_tls_needs_all_three_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_agent_config(_write(tmp_path, AGENT.format(tls='tls_ca = "ca.pem"')))
    assert str(err.value).endswith("broker: give all of tls_ca, tls_cert and tls_key, or none of them")


def test_agent_tls_file_that_cannot_be_read_is_named(tmp_path: Path) -> None:
    _tls_files(tmp_path)
    with pytest.raises(ConfigError) as err:
        load_agent_config(_write(tmp_path, AGENT.format(tls=TLS)))
    assert err.value.key == "broker.tls_key"
    assert err.value.reason == "cannot read /abs/key.pem: No such file or directory"


def test_hub_tls_files_resolve_against_the_config_folder(tmp_path: Path) -> None:
    certs = _tls_files(tmp_path)
    tls = TLS.replace("/abs/key.pem", str(certs / "key.pem"))
    mqtt = load_hub_config(_write(tmp_path, HUB.format(tls=tls))).mqtt
    assert (mqtt.tls_ca, mqtt.tls_cert, mqtt.tls_key) == tuple(certs / n for n in ("ca.pem", "cert.pem", "key.pem"))
    assert load_hub_config(_write(tmp_path, HUB.format(tls=""))).mqtt.tls_ca is None


def test_hub_tls_problems_are_named(tmp_path: Path) -> None:
    with pytest.raises(HubConfigError) as err:
        load_hub_config(_write(tmp_path, HUB.format(tls='tls_cert = "c.pem"\ntls_key = "k.pem"')))
    assert err.value.key == "mqtt"
    assert "give all of tls_ca, tls_cert and tls_key" in err.value.reason
    _tls_files(tmp_path)
    with pytest.raises(HubConfigError) as err:
        load_hub_config(_write(tmp_path, HUB.format(tls=TLS)))
    assert (err.value.key, err.value.reason) == ("mqtt.tls_key", "cannot read /abs/key.pem: No such file or directory")


def _directives(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_broker_config_with_tls_keeps_the_plain_listener_anonymous_on_loopback(tmp_path: Path) -> None:
    settings = StackSettings(state_dir=tmp_path, mqtt_port=18830, mqtt_tls_port=18883)
    directives = _directives(render_config(settings, user="nobody"))
    assert directives[0] == ["per_listener_settings", "true"]
    listeners = [i for i, d in enumerate(directives) if d[0] == "listener"]
    assert [directives[i] for i in listeners] == [
        ["listener", "18830", "127.0.0.1"],
        ["listener", "18883", "127.0.0.1"],
    ]
    plain = dict((d[0], d[1:]) for d in directives[listeners[0] + 1 : listeners[1]])
    assert plain == {"allow_anonymous": ["true"]}
    tls = {d[0]: d[1:] for d in directives[listeners[1] + 1 :]}
    pki = tmp_path / "pki"
    for key, value in {
        "allow_anonymous": "false",
        "require_certificate": "true",
        "use_identity_as_username": "true",
        "use_username_as_clientid": "true",
        "cafile": str(pki / "ca.pem"),
        "certfile": str(pki / "brokers" / "127.0.0.1" / "cert.pem"),
        "keyfile": str(pki / "brokers" / "127.0.0.1" / "key.pem"),
        "crlfile": str(pki / "crl.pem"),
        "acl_file": str(acl_path(settings)),
    }.items():
        assert tls[key] == [value], key


def test_broker_config_without_tls_is_unchanged(tmp_path: Path) -> None:
    directives = _directives(render_config(StackSettings(state_dir=tmp_path, mqtt_port=18830), user="nobody"))
    assert [d for d in directives if d[0] in ("per_listener_settings", "cafile", "acl_file")] == []
    assert [d for d in directives if d[0] == "listener"] == [["listener", "18830", "127.0.0.1"]]


def test_acl_confines_agents_and_lists_hubs_and_fully_revoked_identities() -> None:
    text = render_acl(hubs=["ingest-2", "ingest-1"], denied=["qingdao/s02/a1"])
    directives = _directives(text)
    # Every agent → hub kind of the protocol, each by name: nothing else under the agent's prefix.
    assert {"birth", "death", "heartbeat", "state", "event"} <= UP_KINDS
    writes = [["pattern", "write", f"sw/v1/%u/{kind}"] for kind in sorted(UP_KINDS)]
    # Every hub → agent kind, each by name: an agent reads only what is addressed to it.
    assert {"ack", "command", "calendar"} <= DOWN_KINDS
    reads = [["pattern", "read", f"sw/v1/%u/{kind}"] for kind in sorted(DOWN_KINDS)]
    assert directives == [
        *writes,
        *reads,
        ["user", "ingest-1"],
        ["topic", "readwrite", "sw/#"],
        ["topic", "read", "$SYS/broker/#"],
        ["user", "ingest-2"],
        ["topic", "readwrite", "sw/#"],
        ["topic", "read", "$SYS/broker/#"],
        ["user", "qingdao/s02/a1"],
        ["topic", "deny", "#"],
    ]


def test_unusable_tls_files_are_mapped_to_our_errors(tmp_path: Path) -> None:
    certs = _tls_files(tmp_path)  # files that exist but hold no PEM
    ca, cert, key = (certs / f"{name}.pem" for name in ("ca", "cert", "key"))
    broker = BrokerSection(host="127.0.0.1", port=8883, tls_ca=str(ca), tls_cert=str(cert), tls_key=str(key))
    path = AgentPath.from_agent_id("jinan/s01/a1")
    will = Death(agent=path.agent_id, boot="0123456789abcdef", seq=0, ts=datetime.now(UTC), reason="will")
    with pytest.raises(LinkError, match="cannot use the TLS files"):
        Link(broker, path, will)
    mqtt = MqttSection(host="127.0.0.1", tls_ca=ca, tls_cert=cert, tls_key=key)
    with pytest.raises(IngestError, match="cannot use the MQTT TLS files"):
        MqttIngest(mqtt, new_inbox(), Stats())
