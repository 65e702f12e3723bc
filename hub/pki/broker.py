"""What a broker's TLS listener needs from the PKI, made ready for the local stack.

``ensure_broker`` creates a development CA if the directory has none, issues the broker a certificate
for the host it listens on (renewing one that is about to expire), and re-signs a CRL past half its
life, so ``sitewatch stack up`` works on a fresh checkout and keeps working months later. Production
brokers get their files from ``sitewatch pki`` run by hand (see deploy/mosquitto/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

from hub.pki.authority import Pki, utc_now
from hub.pki.index import Index

DEV_CA_NAME: Final = "sitewatch-dev"
RENEW_BEFORE: Final = timedelta(days=30)
# For a host given as an IP address, clients that connect by name still find a match.
LOOPBACK_NAMES: Final = ("localhost",)


@dataclass(frozen=True, slots=True)
class BrokerFiles:
    cafile: Path
    certfile: Path
    keyfile: Path
    crlfile: Path


def broker_files(root: Path, host: str) -> BrokerFiles:
    """Where the broker serving ``host`` finds its TLS files in the PKI directory ``root``; no I/O."""
    pki = Pki(root)
    folder = pki.bundle_folder("broker", host)
    return BrokerFiles(pki.ca_cert_path, folder / "cert.pem", folder / "key.pem", pki.crl_path)


def ensure_broker(root: Path, host: str, *, now: Callable[[], datetime] = utc_now) -> Index:
    """Make :func:`broker_files` exist and be current; returns the index (the ACL is made from it)."""
    pki = Pki(root, now=now)
    if not pki.exists():
        pki.init(DEV_CA_NAME)
    current = pki.index().valid(now(), "broker", host)
    if not current or current[-1].not_after - now() <= RENEW_BEFORE:
        alt = LOOPBACK_NAMES if host.startswith("127.") or host == "::1" else ()
        pki.issue("broker", host, replace=True, alt_names=alt)
    crl = pki.crl()
    next_update = crl.next_update_utc
    if next_update is None or now() - crl.last_update_utc >= next_update - now():
        pki.refresh_crl()
    return pki.index()
