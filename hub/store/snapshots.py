"""Reading camera snapshots for the dashboard, scoped to a site: the latest of a device, or one by hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.store.connection import Connection, mapped_errors


@dataclass(frozen=True, slots=True)
class SnapshotRow:
    device_id: str
    sha256: str
    taken_at: datetime
    width: int
    height: int
    content_type: str
    data: bytes


def site_snapshot(conn: Connection, city: str, site: str, device_id: str, sha256: str | None) -> SnapshotRow | None:
    """The newest snapshot of ``device_id`` at ``city/site`` (or the one with ``sha256``), if any."""
    with mapped_errors("reading a snapshot failed"):
        row = conn.execute(
            "SELECT s.device_id, s.sha256, s.time, s.width, s.height, s.content_type, s.data"
            " FROM snapshots s JOIN agents a ON a.agent_id = s.agent_id"
            " WHERE a.city = %(city)s AND a.site = %(site)s AND s.device_id = %(device)s"
            " AND (%(sha)s::text IS NULL OR s.sha256 = %(sha)s)"
            " ORDER BY s.time DESC LIMIT 1",
            {"city": city, "site": site, "device": device_id, "sha": sha256},
        ).fetchone()
    if row is None:
        return None
    return SnapshotRow(row[0], row[1], row[2], int(row[3]), int(row[4]), row[5], bytes(row[6]))
