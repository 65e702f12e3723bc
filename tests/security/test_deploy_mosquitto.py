"""deploy/mosquitto: the production broker config works on Debian's Mosquitto 2.0 as documented.

The shipped files are used as they are; only the paths under /etc, the ports and the run-time options a
test needs (log file, user, no persistence) are substituted.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tls_helpers import HOST, clients, until

from hub.pki.acl import acl_for
from hub.pki.authority import Pki, utc_now
from hub.stack.process import free_port, port_open

pytestmark = pytest.mark.integration

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
ETC = "/etc/mosquitto/sitewatch/"


@dataclass
class Deployed:
    pki: Pki
    tls_port: int
    local_port: int


def _config(etc: Path, tls_port: int, local_port: int, log: Path) -> str:
    text = (DEPLOY / "sitewatch.conf").read_text(encoding="utf-8")
    assert "listener 8883\n" in text
    assert "listener 1883 127.0.0.1\n" in text
    text = text.replace(ETC, f"{etc}/")
    # The test binds the agents' listener to loopback; production binds every interface.
    text = text.replace("listener 8883\n", f"listener {tls_port} {HOST}\n")
    text = text.replace("listener 1883 127.0.0.1\n", f"listener {local_port} {HOST}\n")
    user = pwd.getpwuid(os.geteuid()).pw_name
    return text + f"persistence false\nlog_dest file {log}\nuser {user}\n"


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("deploy")
    pki = Pki(root / "ca")
    pki.init("deploy-test")
    broker = pki.issue("broker", HOST)
    pki.issue("hub", "ingest-1")
    etc = root / "etc"
    etc.mkdir()
    shutil.copy(pki.ca_cert_path, etc / "ca.pem")
    shutil.copy(pki.crl_path, etc / "crl.pem")
    shutil.copy(broker.cert, etc / "broker-cert.pem")
    shutil.copy(broker.key, etc / "broker-key.pem")
    (etc / "acl").write_text(acl_for(pki.index(), utc_now()), encoding="utf-8")
    shutil.copy(DEPLOY / "acl-local", etc / "acl-local")
    tls_port, local_port = free_port(), free_port()
    conf = root / "mosquitto.conf"
    conf.write_text(_config(etc, tls_port, local_port, root / "mosquitto.log"), encoding="utf-8")
    binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin") or "mosquitto"
    with (root / "mosquitto.out").open("wb") as out:
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT)
    try:
        until(
            lambda: proc.poll() is not None or (port_open(HOST, tls_port) and port_open(HOST, local_port)),
            "mosquitto listening",
        )
        assert proc.poll() is None, (root / "mosquitto.out").read_text(errors="replace")
        yield Deployed(pki, tls_port, local_port)
    finally:
        proc.terminate()
        proc.wait(10)


def test_acl_example_is_what_pki_acl_prints(tmp_path: Path) -> None:
    pki = Pki(tmp_path / "ca")
    pki.init("example")
    for hub in ("ingest-1", "ingest-2"):
        pki.issue("hub", hub)
    pki.issue("agent", "qingdao/s02/a1")
    pki.revoke("qingdao/s02/a1")
    assert (DEPLOY / "acl.example").read_text(encoding="utf-8") == acl_for(pki.index(), utc_now())


def test_deployed_broker_confines_agents_and_keeps_loopback_read_only(deployed: Deployed) -> None:
    ca = deployed.pki.ca_cert_path
    with clients() as make:
        agent = make(deployed.tls_port, ca=ca, bundle=deployed.pki.issue("agent", "jinan/s01/a1"))
        assert agent.outcome() == "connected"
        assert agent.publish("sw/v1/jinan/s01/a1/state", b"{}") in (0, 16)
        assert agent.publish("sw/v1/qingdao/s02/a1/state", b"{}") == 135
        assert make(deployed.tls_port, ca=ca).outcome() == "refused"
        assert make(deployed.tls_port, ca=None, tls=False).outcome() == "refused"

        local = make(deployed.local_port, ca=None, tls=False)
        assert local.outcome() == "connected"
        local.subscribe("$SYS/broker/version")
        assert local.next_message().payload.startswith(b"mosquitto version 2.")
        assert local.publish("sw/v1/jinan/s01/a1/state", b"{}") == 135
