"""``index.json``: every certificate the CA has issued, and which are revoked; pure (text in, text out).

The index, not the certificate files, is the record: bundles are copied to sites and may be deleted
from the CA's directory, but the CRL is rebuilt from the index and ``pki list`` reads it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

from hub.pki.errors import PkiError
from hub.pki.names import ROLES, Role

FORMAT = 1

Status = Literal["valid", "revoked", "expired"]


@dataclass(frozen=True, slots=True)
class Issued:
    serial: int
    role: Role
    name: str
    not_before: datetime
    not_after: datetime
    fingerprint: str  # SHA-256 of the certificate, hex
    revoked_at: datetime | None = None

    def status(self, now: datetime) -> Status:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if now >= self.not_after else "valid"

    def valid(self, now: datetime) -> bool:
        return self.status(now) == "valid"


@dataclass(frozen=True, slots=True)
class Index:
    ca_name: str
    crl_days: int
    # CRLs carry an increasing number, so a relying party can tell a newer list from an older one.
    crl_number: int = 0
    issued: tuple[Issued, ...] = ()

    def add(self, cert: Issued) -> Index:
        return replace(self, issued=(*self.issued, cert))

    def revoke(self, serials: set[int], at: datetime) -> Index:
        issued = tuple(
            replace(c, revoked_at=at) if c.serial in serials and c.revoked_at is None else c for c in self.issued
        )
        return replace(self, issued=issued)

    def next_crl(self) -> Index:
        return replace(self, crl_number=self.crl_number + 1)

    def valid(self, now: datetime, role: Role | None = None, name: str | None = None) -> list[Issued]:
        return [
            c
            for c in self.issued
            if c.valid(now) and (role is None or c.role == role) and (name is None or c.name == name)
        ]

    def revoked(self) -> list[Issued]:
        return [c for c in self.issued if c.revoked_at is not None]


def dumps(index: Index) -> str:
    def entry(c: Issued) -> dict[str, object]:
        return {
            "serial": f"{c.serial:x}",
            "role": c.role,
            "name": c.name,
            "not_before": c.not_before.isoformat(),
            "not_after": c.not_after.isoformat(),
            "fingerprint": c.fingerprint,
            "revoked_at": None if c.revoked_at is None else c.revoked_at.isoformat(),
        }

    doc = {
        "format": FORMAT,
        "ca_name": index.ca_name,
        "crl_days": index.crl_days,
        "crl_number": index.crl_number,
        "issued": [entry(c) for c in index.issued],
    }
    return json.dumps(doc, indent=2) + "\n"


def loads(text: str, source: str) -> Index:
    """Parse an index; anything unexpected is a :class:`PkiError` naming ``source``."""
    try:
        doc = json.loads(text)
        version = doc.get("format")
        issued = tuple(_issued(e) for e in doc["issued"])
        index = Index(str(doc["ca_name"]), int(doc["crl_days"]), int(doc["crl_number"]), issued)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PkiError(f"{source} is not a SiteWatch PKI index: {exc}") from exc
    if version != FORMAT:
        raise PkiError(f"{source} has index format {version!r}; this build reads {FORMAT}")
    return index


def _issued(entry: dict[str, Any]) -> Issued:
    role = entry["role"]
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    revoked = entry["revoked_at"]
    return Issued(
        serial=int(entry["serial"], 16),
        role=cast(Role, role),
        name=str(entry["name"]),
        not_before=datetime.fromisoformat(entry["not_before"]),
        not_after=datetime.fromisoformat(entry["not_after"]),
        fingerprint=str(entry["fingerprint"]),
        revoked_at=None if revoked is None else datetime.fromisoformat(revoked),
    )
