"""What paho's callback hands the writer: the raw message and what is needed to ack it later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Inbound:
    topic: str
    payload: bytes
    mid: int
    qos: int
    received_at: datetime
    retained: bool = False
