"""Building certificates, keys and the revocation list with the ``cryptography`` package; no file I/O.

Keys are EC P-256: small, fast to make (tests issue dozens), and every TLS stack the agents run has it.
Extensions follow what OpenSSL checks when the broker verifies a peer:

    CA      basicConstraints CA:TRUE pathlen:0 (critical); keyUsage keyCertSign, cRLSign (critical)
    agent   basicConstraints CA:FALSE (critical); keyUsage digitalSignature (critical);
    hub     extendedKeyUsage clientAuth, so the certificate cannot serve TLS
    broker  as above but extendedKeyUsage serverAuth, plus subjectAltName (clients match the host there),
            so it cannot log in to the broker as a client

Every certificate starts five minutes in the past: a site agent whose clock is slightly behind the CA's
would otherwise reject a fresh broker certificate, or be rejected with its own.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hub.pki.names import Role, check_name, is_ip

PrivateKey = ec.EllipticCurvePrivateKey

ORGANISATION: Final = "SiteWatch"
BACKDATE: Final = timedelta(minutes=5)


def new_key() -> PrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _name(common_name: str, unit: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, ORGANISATION),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, signature: bool, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signature,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def ca_certificate(key: PrivateKey, name: str, now: datetime, days: int) -> x509.Certificate:
    """A self-signed CA that may sign end-entity certificates only (path length 0)."""
    subject = _name(name, "certificate authority")
    public = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(signature=False, ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )


def subject_alt_names(host: str, extra: Sequence[str] = ()) -> list[x509.GeneralName]:
    """The broker's names as clients check them: IP addresses as iPAddress, the rest as dNSName."""
    names: list[x509.GeneralName] = []
    for entry in dict.fromkeys((host, *extra)):
        if is_ip(entry):
            names.append(x509.IPAddress(ipaddress.ip_address(entry)))
        else:
            names.append(x509.DNSName(entry))
    return names


def leaf_certificate(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    role: Role,
    name: str,
    *,
    now: datetime,
    days: int,
    serial: int,
    alt_names: Sequence[str] = (),
) -> x509.Certificate:
    """An end-entity certificate for ``name``; it never outlives the CA that signs it."""
    check_name(role, name)
    not_after = min(now + timedelta(days=days), ca_cert.not_valid_after_utc)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if role == "broker" else ExtendedKeyUsageOID.CLIENT_AUTH
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(name, role))
        .issuer_name(ca_cert.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signature=True, ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    if role == "broker":
        builder = builder.add_extension(x509.SubjectAlternativeName(subject_alt_names(name, alt_names)), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def revocation_list(
    ca_cert: x509.Certificate,
    ca_key: PrivateKey,
    revoked: Iterable[tuple[int, datetime]],
    *,
    now: datetime,
    days: int,
    number: int,
) -> x509.CertificateRevocationList:
    """The CRL the broker checks client certificates against: every revoked (serial, when) pair.

    OpenSSL refuses *every* client once ``nextUpdate`` has passed, so it must be re-signed before then
    (``sitewatch pki crl``).
    """
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca_cert.subject)
        .last_update(now - BACKDATE)
        .next_update(now + timedelta(days=days))
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
    )
    for serial, when in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(when).build()
        )
    return builder.sign(ca_key, hashes.SHA256())


def key_pem(key: PrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_key(data: bytes) -> PrivateKey:
    key = serialization.load_pem_private_key(data, password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise TypeError(f"expected an EC private key, found {type(key).__name__}")
    return key


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def crl_pem(crl: x509.CertificateRevocationList) -> bytes:
    return crl.public_bytes(serialization.Encoding.PEM)


def fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 of the DER encoding, as ``openssl x509 -fingerprint -sha256`` shows it (without colons)."""
    return cert.fingerprint(hashes.SHA256()).hex()


def common_name(cert: x509.Certificate) -> str:
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = values[0].value if values else ""
    return value if isinstance(value, str) else value.decode()
