"""The duty desk's escalation side: label-scoped silences, duty check-ins (and the alert a missed one
raises), the deliveries of an alert, and what other hubs send — with :class:`DeskStore`, the pool the
escalation routes use (apart from the dashboard's, so neither starves the other)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hub.alerts.duty import DeskStatus
from hub.alerts.model import DUTY_CHECKIN_MISSED
from hub.store import alerts, audit_log, federation, notifications
from hub.store.audit_log import AuditEntry
from hub.store.connection import Connection, mapped_errors
from hub.store.federation import Receipt
from hub.store.handle import ReadStore
from hub.store.notifications import Delivery

# Missed check-ins are alerts of the city's duty desk, which is no agent: this stands in for one.
DESK_SITE = "duty-desk"
DESK_AGENT = "hub"


@dataclass(frozen=True, slots=True)
class SilenceRow:
    id: int
    matchers: dict[str, str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    reason: str
    created_at: datetime
    expired_by: str | None


_SILENCE = "id, matchers, starts_at, ends_at, created_by, reason, created_at, expired_by"


def _silence(r: tuple[Any, ...]) -> SilenceRow:
    return SilenceRow(int(r[0]), dict(r[1]), r[2], r[3], r[4], r[5], r[6], r[7])


def add_silence(
    conn: Connection,
    *,
    matchers: Mapping[str, str],
    starts_at: datetime,
    ends_at: datetime,
    by: str,
    by_id: int | None,
    reason: str,
    now: datetime,
) -> SilenceRow:
    with mapped_errors("adding a silence failed"), conn.transaction():
        row = conn.execute(
            f"INSERT INTO silences (matchers, starts_at, ends_at, created_by, created_by_id, reason, created_at)"  # noqa: S608  # constant columns
            f" VALUES (%s::jsonb, %s, %s, %s, %s, %s, %s) RETURNING {_SILENCE}",
            (json.dumps(dict(matchers)), starts_at, ends_at, by, by_id, reason, now),
        ).fetchone()
        assert row is not None
    return _silence(row)


def list_silences(conn: Connection, now: datetime, city: str | None, include_expired: bool) -> list[SilenceRow]:
    with mapped_errors("reading silences failed"):
        rows = conn.execute(
            f"SELECT {_SILENCE} FROM silences WHERE (%(all)s OR ends_at > %(now)s)"  # noqa: S608  # constant columns
            " AND (%(city)s::text IS NULL OR matchers->>'city' = %(city)s) ORDER BY ends_at DESC, id DESC LIMIT 500",
            {"all": include_expired, "now": now, "city": city},
        ).fetchall()
    return [_silence(r) for r in rows]


def expire_silence(conn: Connection, silence_id: int, city: str | None, *, by: str, now: datetime) -> SilenceRow | None:
    """End a silence now; the alerts it muted are looked at again at once.  None: not found (or not yours)."""
    with mapped_errors("expiring a silence failed"), conn.transaction():
        row = conn.execute(
            f"UPDATE silences SET ends_at = greatest(starts_at + interval '1 microsecond', %(now)s),"  # noqa: S608  # constant columns
            " expired_by = %(by)s WHERE id = %(id)s AND ends_at > %(now)s"
            " AND (%(city)s::text IS NULL OR matchers->>'city' = %(city)s)"
            f" RETURNING {_SILENCE}",
            {"now": now, "by": by, "id": silence_id, "city": city},
        ).fetchone()
        if row is not None:
            conn.execute("UPDATE alerts SET next_action_at = %s WHERE closed_at IS NULL", (now,))
    return None if row is None else _silence(row)


def silence_by_id(conn: Connection, silence_id: int) -> SilenceRow | None:
    with mapped_errors("reading a silence failed"):
        row = conn.execute(f"SELECT {_SILENCE} FROM silences WHERE id = %s", (silence_id,)).fetchone()  # noqa: S608  # constant columns
    return None if row is None else _silence(row)


def check_in(conn: Connection, city: str, *, by: str, by_id: int | None, now: datetime) -> None:
    """The desk is staffed: record it, and resolve a missed-check-in alert if one is open."""
    with mapped_errors("recording a check-in failed"), conn.transaction():
        conn.execute(
            "INSERT INTO duty_checkins (city, at, user_id, username) VALUES (%s, %s, %s, %s)", (city, now, by_id, by)
        )
        alerts.close_alert(conn, missed_fingerprint(city), now)


def last_checkins(conn: Connection) -> dict[str, datetime]:
    with mapped_errors("reading check-ins failed"):
        rows = conn.execute("SELECT city, max(at) FROM duty_checkins GROUP BY city").fetchall()
    return {str(c): at for c, at in rows}


def missed_fingerprint(city: str) -> str:
    return f"{DUTY_CHECKIN_MISSED}:{city}"


def sync_missed(conn: Connection, statuses: Sequence[DeskStatus], now: datetime) -> int:
    """Open an alert for each desk that missed its check-in; returns how many opened."""
    opened = 0
    with mapped_errors("raising missed check-ins failed"), conn.transaction():
        for s in statuses:
            if not s.missed:
                continue
            last = "never" if s.last is None else s.last.isoformat(timespec="seconds")
            opened += int(
                alerts.open_alert(
                    conn,
                    fingerprint=missed_fingerprint(s.city),
                    kind=DUTY_CHECKIN_MISSED,
                    severity="critical",
                    agent_id=f"{s.city}/{DESK_SITE}/{DESK_AGENT}",
                    summary=f"the {s.city} duty desk missed its check-in (last: {last}) / {s.city} 值班未按时签到",
                    details={"due_at": None if s.due_at is None else s.due_at.isoformat(), "last": last},
                    opened_at=now,
                )
            )
    return opened


class DeskStore(ReadStore):
    """Pooled access for the escalation routes: silences, check-ins, deliveries, and other hubs' deliveries."""

    def add_silence(
        self,
        *,
        matchers: Mapping[str, str],
        starts_at: datetime,
        ends_at: datetime,
        by: str,
        by_id: int | None,
        reason: str,
        now: datetime,
    ) -> SilenceRow:
        with self._connection() as conn:
            return add_silence(
                conn,
                matchers=matchers,
                starts_at=starts_at,
                ends_at=ends_at,
                by=by,
                by_id=by_id,
                reason=reason,
                now=now,
            )

    def silences(self, now: datetime, city: str | None, include_expired: bool) -> list[SilenceRow]:
        with self._connection() as conn:
            return list_silences(conn, now, city, include_expired)

    def silence(self, silence_id: int) -> SilenceRow | None:
        with self._connection() as conn:
            return silence_by_id(conn, silence_id)

    def expire_silence(self, silence_id: int, city: str | None, *, by: str, now: datetime) -> SilenceRow | None:
        with self._connection() as conn:
            return expire_silence(conn, silence_id, city, by=by, now=now)

    def check_in(self, city: str, *, by: str, by_id: int | None, now: datetime) -> None:
        with self._connection() as conn:
            check_in(conn, city, by=by, by_id=by_id, now=now)

    def last_checkins(self) -> dict[str, datetime]:
        with self._connection() as conn:
            return last_checkins(conn)

    def deliveries(self, alert_id: int) -> list[Delivery]:
        with self._connection() as conn:
            return notifications.deliveries(conn, alert_id)

    def receive(
        self,
        *,
        hub: str,
        key: str,
        event: str,
        sent_at: datetime | None,
        payload: dict[str, Any],
        now: datetime,
        role: str,
    ) -> Receipt:
        with self._connection() as conn:
            return federation.receive(
                conn, hub=hub, key=key, event=event, sent_at=sent_at, payload=payload, now=now, role=role
            )

    def audit(self, entry: AuditEntry) -> None:
        with self._connection() as conn:
            audit_log.record(conn, entry)
