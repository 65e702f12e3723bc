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


@dataclass(frozen=True)
class StackInfo:
    mqtt_host: str
    mqtt_port: int
    dsn: str  # database "sitewatch", as the superuser "sitewatch"
