"""What a stack is asked for and what it hands back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StackSettings:
    state_dir: Path
    host: str = "127.0.0.1"
    mqtt_port: int = 18830
    pg_port: int = 15432
    mqtt_persistence: bool = False
    # A second broker listener with TLS and client certificates (agents and hubs authenticate by their
    # certificate's CN; an ACL confines each agent to its own topics). None: the plain listener only.
    mqtt_tls_port: int | None = None
    # The CA that signs the broker's and clients' certificates; default <state_dir>/pki, created if missing.
    pki_dir: Path | None = None

    @property
    def pki_root(self) -> Path:
        return self.pki_dir if self.pki_dir is not None else self.state_dir / "pki"


@dataclass(frozen=True)
class StackInfo:
    mqtt_host: str
    mqtt_port: int
    dsn: str  # database "sitewatch", as the superuser "sitewatch"
    mqtt_tls_port: int | None = None
    pki_dir: Path | None = None  # its ca.pem is what clients of the TLS listener verify the broker with
