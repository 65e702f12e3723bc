"""The private CA: what it issues (names, validity, key usage), what it revokes, and how it keeps its keys."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.pki import certs
from hub.pki.authority import Pki
from hub.pki.errors import PkiError
from hub.pki.index import loads

NOW = datetime(2030, 3, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pki(tmp_path: Path, clock: Clock) -> Pki:
    ca = Pki(tmp_path / "pki", now=clock)
    ca.init("test-ca", days=365, crl_days=30)
    return ca


def _load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_init_makes_a_ca_that_signs_only_end_entities(pki: Pki) -> None:
    ca = pki.ca_certificate()
    assert ca.subject == ca.issuer
    assert ca.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "test-ca"
    basic = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical
    assert (basic.value.ca, basic.value.path_length) == (True, 0)
    usage = ca.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical
    assert usage.value.key_cert_sign
    assert usage.value.crl_sign
    assert not usage.value.digital_signature
    assert ca.not_valid_after_utc == NOW + timedelta(days=365)
    assert isinstance(ca.public_key(), ec.EllipticCurvePublicKey)
    ca.verify_directly_issued_by(ca)


def test_init_refuses_to_overwrite_a_ca(pki: Pki) -> None:
    before = pki.ca_key_path.read_bytes()
    with pytest.raises(PkiError, match="already holds a CA"):
        pki.init("again")
    assert pki.ca_key_path.read_bytes() == before


def test_agent_certificate_carries_the_agent_id_with_slashes_as_cn(pki: Pki) -> None:
    bundle = pki.issue("agent", "jinan/s01/a1", days=100)
    cert = _load(bundle.cert)
    assert certs.common_name(cert) == "jinan/s01/a1"
    assert cert.subject.rfc4514_string() == "CN=jinan/s01/a1,OU=agent,O=SiteWatch"
    assert bundle.folder == pki.root / "agents" / "jinan" / "s01" / "a1"
    assert bundle.ca.read_bytes() == pki.ca_cert_path.read_bytes()
    cert.verify_directly_issued_by(pki.ca_certificate())
    # The key in the bundle is the one the certificate is for.
    key = certs.load_key(bundle.key.read_bytes())
    assert key.public_key() == cert.public_key()


def test_agent_and_hub_certificates_are_for_client_auth_only(pki: Pki) -> None:
    for role, name in (("agent", "jinan/s01/a1"), ("hub", "ingest-1")):
        cert = _load(pki.issue(role, name).cert)  # type: ignore[arg-type]
        eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert list(eku) == [ExtendedKeyUsageOID.CLIENT_AUTH]
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
        assert usage.critical
        assert usage.value.digital_signature
        assert not usage.value.key_cert_sign
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        with pytest.raises(x509.ExtensionNotFound):
            cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)


def test_broker_certificate_is_for_server_auth_with_its_names(pki: Pki) -> None:
    cert = _load(pki.issue("broker", "127.0.0.1", alt_names=["localhost", "mqtt.example.org"]).cert)
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert [str(ip) for ip in san.get_values_for_type(x509.IPAddress)] == ["127.0.0.1"]
    assert san.get_values_for_type(x509.DNSName) == ["localhost", "mqtt.example.org"]


def test_validity_starts_slightly_in_the_past_and_never_outlives_the_ca(pki: Pki, clock: Clock) -> None:
    cert = _load(pki.issue("agent", "jinan/s01/a1", days=30).cert)
    assert cert.not_valid_before_utc == NOW - certs.BACKDATE
    assert cert.not_valid_after_utc == NOW + timedelta(days=30)
    long = _load(pki.issue("agent", "jinan/s01/a2", days=3000).cert)
    assert long.not_valid_after_utc == pki.ca_certificate().not_valid_after_utc
    clock.now = NOW + timedelta(days=31)
    assert [c.name for c in pki.index().valid(clock.now)] == ["jinan/s01/a2"]


def test_keys_are_private_from_their_first_byte(pki: Pki) -> None:
    bundle = pki.issue("hub", "ingest-1")
    assert _mode(pki.ca_key_path) == 0o600
    assert _mode(bundle.key) == 0o600
    assert _mode(bundle.cert) == 0o644
    assert _mode(pki.root) == 0o700
    assert _mode(bundle.folder) == 0o700
    assert not list(pki.root.rglob("*.tmp"))


@pytest.mark.parametrize(
    ("role", "name", "why"),
    [
        ("agent", "jinan/s01", "not an agent id"),
        ("agent", "Jinan/s01/a1", "not an agent id"),
        ("agent", "jinan/s01/a1/x", "not an agent id"),
        ("agent", "jinan/+/a1", "not an agent id"),
        ("agent", "a" * 31 + "/" + "b" * 31 + "/c1", "at most 64"),
        ("hub", "ingest/1", "must be a slug"),
        ("hub", "#", "must be a slug"),
        ("broker", "mqtt_example", "neither an IP address nor"),
    ],
)
def test_names_a_certificate_cannot_carry_are_refused(pki: Pki, role: str, name: str, why: str) -> None:
    with pytest.raises(PkiError, match=why):
        pki.issue(role, name)  # type: ignore[arg-type]
    assert pki.index().issued == ()


def test_a_second_certificate_needs_replace_which_revokes_the_first(pki: Pki) -> None:
    first = pki.issue("agent", "jinan/s01/a1")
    with pytest.raises(PkiError, match="already has a valid certificate"):
        pki.issue("agent", "jinan/s01/a1")
    second = pki.issue("agent", "jinan/s01/a1", replace=True)
    assert [c.serial for c in pki.index().valid(NOW)] == [second.issued.serial]
    revoked = pki.crl().get_revoked_certificate_by_serial_number(first.issued.serial)
    assert revoked is not None
    assert pki.crl().get_revoked_certificate_by_serial_number(second.issued.serial) is None


def test_revocation_is_in_a_signed_crl_with_a_rising_number(pki: Pki, clock: Clock) -> None:
    keep = pki.issue("agent", "jinan/s01/a1")
    drop = pki.issue("agent", "qingdao/s02/a1")
    number_before = pki.crl().extensions.get_extension_for_class(x509.CRLNumber).value.crl_number
    clock.now = NOW + timedelta(hours=2)
    [revoked] = pki.revoke("qingdao/s02/a1")
    assert revoked.serial == drop.issued.serial
    assert revoked.revoked_at == clock.now

    crl = pki.crl()
    assert crl.is_signature_valid(pki.ca_certificate().public_key())  # type: ignore[arg-type]
    assert crl.issuer == pki.ca_certificate().subject
    assert [(r.serial_number, r.revocation_date_utc) for r in crl] == [(drop.issued.serial, clock.now)]
    assert crl.get_revoked_certificate_by_serial_number(keep.issued.serial) is None
    assert crl.next_update_utc == clock.now + timedelta(days=30)
    assert crl.extensions.get_extension_for_class(x509.CRLNumber).value.crl_number > number_before
    assert pki.index().valid(clock.now, "agent") == [pki.index().issued[0]]


def test_revoking_what_is_not_valid_says_so(pki: Pki) -> None:
    with pytest.raises(PkiError, match="no valid certificate named 'jinan/s01/a9'"):
        pki.revoke("jinan/s01/a9")
    pki.issue("agent", "jinan/s01/a1")
    pki.revoke("jinan/s01/a1")
    with pytest.raises(PkiError, match="no valid"):
        pki.revoke("jinan/s01/a1")


def test_a_name_shared_by_a_hub_and_a_broker_needs_a_role(pki: Pki) -> None:
    pki.issue("hub", "mqtt1")
    pki.issue("broker", "mqtt1")
    with pytest.raises(PkiError, match="several roles"):
        pki.revoke("mqtt1")
    [revoked] = pki.revoke("mqtt1", role="hub")
    assert revoked.role == "hub"
    assert [c.role for c in pki.index().valid(NOW)] == ["broker"]


def test_refresh_crl_extends_it_and_keeps_the_revocations(pki: Pki, clock: Clock) -> None:
    gone = pki.issue("agent", "jinan/s01/a1")
    pki.revoke("jinan/s01/a1")
    clock.now = NOW + timedelta(days=25)
    crl = pki.refresh_crl(days=60)
    assert crl.next_update_utc == clock.now + timedelta(days=60)
    assert [r.serial_number for r in crl] == [gone.issued.serial]
    assert pki.index().crl_days == 60


def test_index_round_trips_and_survives_a_reopen(pki: Pki, clock: Clock) -> None:
    pki.issue("agent", "jinan/s01/a1")
    pki.issue("hub", "ingest-1")
    pki.revoke("ingest-1")
    again = Pki(pki.root, now=clock)
    assert again.index() == pki.index()
    assert [(c.role, c.name, c.status(NOW)) for c in again.index().issued] == [
        ("agent", "jinan/s01/a1", "valid"),
        ("hub", "ingest-1", "revoked"),
    ]
    issued = again.index().issued[0]
    assert issued.fingerprint == certs.fingerprint(_load(again.bundle_folder("agent", "jinan/s01/a1") / "cert.pem"))


def test_a_damaged_index_is_reported_by_file(pki: Pki) -> None:
    pki.index_path.write_text('{"format": 1, "issued": [{"serial": "zz"}]}', encoding="utf-8")
    with pytest.raises(PkiError, match=r"index\.json is not a SiteWatch PKI index"):
        pki.index()
    with pytest.raises(PkiError, match="format 9"):
        loads('{"format": 9, "ca_name": "x", "crl_days": 1, "crl_number": 0, "issued": []}', "x.json")


def test_without_a_ca_every_command_says_to_run_init(tmp_path: Path) -> None:
    empty = Pki(tmp_path / "none")
    with pytest.raises(PkiError, match="sitewatch pki init"):
        empty.issue("agent", "jinan/s01/a1")
    with pytest.raises(PkiError, match="sitewatch pki init"):
        empty.revoke("jinan/s01/a1")
