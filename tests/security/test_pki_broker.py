"""The local stack's broker files: a development CA on first use, renewed before anything runs out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509

from hub.pki.authority import Pki
from hub.pki.broker import DEV_CA_NAME, broker_files, ensure_broker

NOW = datetime(2030, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def test_first_use_makes_a_ca_and_a_broker_certificate_for_the_host(tmp_path: Path) -> None:
    clock = Clock()
    index = ensure_broker(tmp_path / "pki", "127.0.0.1", now=clock)
    files = broker_files(tmp_path / "pki", "127.0.0.1")
    assert index.ca_name == DEV_CA_NAME
    assert [(c.role, c.name) for c in index.issued] == [("broker", "127.0.0.1")]
    cert = x509.load_pem_x509_certificate(files.certfile.read_bytes())
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["localhost"]
    assert files.keyfile.is_file()
    assert files.cafile.is_file()
    assert files.crlfile.is_file()
    # Nothing to do the second time.
    assert ensure_broker(tmp_path / "pki", "127.0.0.1", now=clock) == Pki(tmp_path / "pki").index()
    assert len(Pki(tmp_path / "pki").index().issued) == 1


def test_a_broker_certificate_near_its_end_is_replaced_and_a_stale_crl_re_signed(tmp_path: Path) -> None:
    clock = Clock()
    first = ensure_broker(tmp_path / "pki", "127.0.0.1", now=clock).issued[0]
    pki = Pki(tmp_path / "pki", now=clock)
    crl_before = pki.crl().last_update_utc

    clock.now = NOW + timedelta(days=50)  # past half of the CRL's 90 days, broker certificate still fine
    index = ensure_broker(tmp_path / "pki", "127.0.0.1", now=clock)
    assert [c.serial for c in index.valid(clock.now, "broker")] == [first.serial]
    assert pki.crl().last_update_utc > crl_before

    clock.now = first.not_after - timedelta(days=10)
    index = ensure_broker(tmp_path / "pki", "127.0.0.1", now=clock)
    [renewed] = index.valid(clock.now, "broker")
    assert renewed.serial != first.serial
    assert renewed.not_after > first.not_after
