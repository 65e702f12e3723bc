"""``Pki(directory)``: the private CA on disk — create it, issue, revoke, re-sign the CRL, list.

Every change holds the directory's lock, then writes the bundle, the index and the CRL, each atomically.
The CRL is re-signed on every revocation, so ``crl.pem`` always lists every revoked certificate; the
broker reads it when it starts or reloads (``hub.stack`` sends the SIGHUP for the local broker).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from cryptography import x509

from hub.pki import certs, files
from hub.pki.errors import PkiError
from hub.pki.index import Index, Issued, dumps, loads
from hub.pki.names import Role, bundle_folder, check_name

CA_DAYS: Final = 3650
LEAF_DAYS: Final = 730
# OpenSSL refuses every client once the CRL's nextUpdate has passed: re-sign it (`pki crl`) well before.
CRL_DAYS: Final = 90


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Bundle:
    """What a site (or hub, or broker) needs: its certificate, its key and the CA, in one folder."""

    issued: Issued
    folder: Path

    @property
    def cert(self) -> Path:
        return self.folder / "cert.pem"

    @property
    def key(self) -> Path:
        return self.folder / "key.pem"

    @property
    def ca(self) -> Path:
        return self.folder / "ca.pem"


class Pki:
    def __init__(self, root: Path, *, now: Callable[[], datetime] = utc_now) -> None:
        self.root = root.absolute()
        self._now = now

    @property
    def ca_key_path(self) -> Path:
        return self.root / "ca.key"

    @property
    def ca_cert_path(self) -> Path:
        return self.root / "ca.pem"

    @property
    def crl_path(self) -> Path:
        return self.root / "crl.pem"

    @property
    def index_path(self) -> Path:
        return self.root / "index.json"

    def exists(self) -> bool:
        return self.index_path.is_file()

    def bundle_folder(self, role: Role, name: str) -> Path:
        return self.root / bundle_folder(role, name)

    # --- reading ------------------------------------------------------------------------------------

    def index(self) -> Index:
        if not self.exists():
            raise PkiError(f"no CA in {self.root}: create one with `sitewatch pki init`")
        return loads(files.read_bytes(self.index_path).decode("utf-8", errors="replace"), str(self.index_path))

    def ca_certificate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(files.read_bytes(self.ca_cert_path))

    def crl(self) -> x509.CertificateRevocationList:
        return x509.load_pem_x509_crl(files.read_bytes(self.crl_path))

    # --- changing -----------------------------------------------------------------------------------

    def init(self, name: str = "sitewatch", *, days: int = CA_DAYS, crl_days: int = CRL_DAYS) -> x509.Certificate:
        """Create the CA (key, certificate, empty CRL, index); refuses to overwrite an existing one."""
        _check_days(days, crl_days)
        files.private_dir(self.root)
        with files.locked(self.root):
            if self.exists() or self.ca_key_path.exists():
                raise PkiError(f"{self.root} already holds a CA; remove the directory to start over")
            key = certs.new_key()
            cert = certs.ca_certificate(key, name, self._now(), days)
            files.write_atomic(self.ca_key_path, certs.key_pem(key), files.PRIVATE_FILE)
            files.write_atomic(self.ca_cert_path, certs.cert_pem(cert), files.PUBLIC_FILE)
            self._save(Index(ca_name=name, crl_days=crl_days), key, cert)
        return cert

    def issue(
        self,
        role: Role,
        name: str,
        *,
        days: int = LEAF_DAYS,
        replace: bool = False,
        alt_names: Sequence[str] = (),
    ) -> Bundle:
        """A new key and certificate for ``name`` in its bundle folder.

        A name that already has a valid certificate is refused unless ``replace``; then the new bundle
        takes the folder and the old certificates are revoked.
        """
        check_name(role, name)
        for alt in alt_names:
            check_name("broker", alt)
        _check_days(days)
        with files.locked(self._existing_root()):
            index = self.index()
            now = self._now()
            previous = index.valid(now, role, name)
            if previous and not replace:
                serials = ", ".join(f"{c.serial:x}" for c in previous)
                raise PkiError(
                    f"{role} {name!r} already has a valid certificate (serial {serials}, until "
                    f"{previous[-1].not_after:%Y-%m-%d}); pass --replace to issue a new one and revoke the old"
                )
            ca_key, ca_cert = self._ca()
            key = certs.new_key()
            serial = x509.random_serial_number()
            cert = certs.leaf_certificate(
                ca_cert, ca_key, key.public_key(), role, name, now=now, days=days, serial=serial, alt_names=alt_names
            )
            issued = Issued(
                serial, role, name, cert.not_valid_before_utc, cert.not_valid_after_utc, certs.fingerprint(cert)
            )
            bundle = Bundle(issued, self.bundle_folder(role, name))
            files.private_dir(bundle.folder)
            files.write_atomic(bundle.key, certs.key_pem(key), files.PRIVATE_FILE)
            files.write_atomic(bundle.cert, certs.cert_pem(cert), files.PUBLIC_FILE)
            files.write_atomic(bundle.ca, certs.cert_pem(ca_cert), files.PUBLIC_FILE)
            index = index.add(issued)
            if previous:
                index = index.revoke({c.serial for c in previous}, now)
            self._save(index, ca_key, ca_cert)
        return bundle

    def revoke(self, name: str, role: Role | None = None) -> list[Issued]:
        """Revoke every valid certificate named ``name`` (of ``role``, when names of two roles clash)."""
        with files.locked(self._existing_root()):
            index = self.index()
            now = self._now()
            found = index.valid(now, role, name)
            roles = sorted({c.role for c in found})
            if not found:
                what = f"{role} " if role else ""
                raise PkiError(f"no valid {what}certificate named {name!r} (see `sitewatch pki list --all`)")
            if len(roles) > 1:
                raise PkiError(f"{name!r} names certificates of several roles ({', '.join(roles)}): give --role")
            index = index.revoke({c.serial for c in found}, now)
            self._save(index, *self._ca())
        return [c for c in index.issued if c.serial in {f.serial for f in found}]

    def refresh_crl(self, days: int | None = None) -> x509.CertificateRevocationList:
        """Re-sign the CRL (optionally with a new validity), e.g. monthly from cron; returns it."""
        if days is not None:
            _check_days(days, days)
        with files.locked(self._existing_root()):
            index = self.index()
            if days is not None:
                index = Index(index.ca_name, days, index.crl_number, index.issued)
            self._save(index, *self._ca())
        return self.crl()

    # --- internals ----------------------------------------------------------------------------------

    def _existing_root(self) -> Path:
        if not self.exists():
            raise PkiError(f"no CA in {self.root}: create one with `sitewatch pki init`")
        return self.root

    def _ca(self) -> tuple[certs.PrivateKey, x509.Certificate]:
        try:
            key = certs.load_key(files.read_bytes(self.ca_key_path))
            cert = self.ca_certificate()
        except (ValueError, TypeError) as exc:
            raise PkiError(f"cannot load the CA from {self.root}: {exc}") from exc
        if self._now() >= cert.not_valid_after_utc:
            raise PkiError(f"the CA certificate {self.ca_cert_path} expired on {cert.not_valid_after_utc:%Y-%m-%d}")
        return key, cert

    def _save(self, index: Index, ca_key: certs.PrivateKey, ca_cert: x509.Certificate) -> None:
        # The CRL first: if writing the index then fails, a retry re-signs a list that is at worst complete.
        index = index.next_crl()
        revoked = [(c.serial, c.revoked_at) for c in index.revoked() if c.revoked_at is not None]
        crl = certs.revocation_list(
            ca_cert, ca_key, revoked, now=self._now(), days=index.crl_days, number=index.crl_number
        )
        files.write_atomic(self.crl_path, certs.crl_pem(crl), files.PUBLIC_FILE)
        files.write_atomic(self.index_path, dumps(index).encode(), files.PUBLIC_FILE)


def _check_days(*days: int) -> None:
    for value in days:
        if not 1 <= value <= 36500:
            raise PkiError(f"a validity of {value} days is out of range (1 to 36500)")
