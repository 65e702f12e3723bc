"""The dispatcher thread: from alert changes to queued notifications, event-driven.

Every transaction that changes an alert (the writer's liveness alerts, the gap tracker, the rules engine,
the dashboard's acknowledge) fires a NOTIFY when it commits; the dispatcher wakes on it, and also every
``tick_s`` for what time alone changes (pending alerts firing, flapping calming down, re-notification and
escalation deadlines, missed check-ins).  One pass:

1. (city role) the site-offline alerts, so a site's other alerts are inhibited before anyone is told;
2. the changed or due alerts: :func:`decide` (pure: mute + escalation plan) → bookkeeping and outbox rows,
   one transaction — the senders wake on the outbox's own NOTIFY;
3. the lifecycle tick, the duty check-ins, and sealing the audit rows written inside other transactions.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from hub.alerts import duty
from hub.alerts.escalation import Chain, plan
from hub.alerts.mute import Inhibitor, Silence, mute
from hub.errors import StoreError
from hub.notify.settings import EscalationSection
from hub.stats import Stats
from hub.store import alerts, audit_log, desk, escalation
from hub.store.connection import Connection
from hub.store.escalation import AlertRecord, Decision, Outgoing
from hub.store.wakeup import ListeningDatabase

log = logging.getLogger("sitewatch.hub.notify")

CHANNEL = "sitewatch_alerts"
PROVINCE_TARGET = "province"
DISPATCH_LIMIT = 200


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class Routing:
    """Where notifications go on this hub."""

    hub: str
    role: str  # "city" or "province"
    # (target, severities it wants): the desk's notifiers
    desk: tuple[tuple[str, frozenset[str]], ...] = ()
    province: bool = False  # a city hub with a [province] to escalate to
    # province: the city hubs acknowledgements can be sent back to
    origins: frozenset[str] = frozenset()


def origin_target(hub: str) -> str:
    return f"hub:{hub}"


def decide(
    record: AlertRecord,
    silences: Sequence[Silence],
    inhibitors: Sequence[Inhibitor],
    now: datetime,
    *,
    settings: EscalationSection,
    routing: Routing,
) -> Decision:
    """Mute, plan, and turn the plan's sends into outbox rows for this hub's notifiers.  Pure."""
    muted = mute(
        record.labels(),
        silences=silences,
        inhibitors=inhibitors,
        now=now,
        alert_silenced_until=record.silenced_until,
        alert_silenced_by=record.silenced_by or "",
    )
    c = settings.chain(record.severity)
    p = plan(
        record.facts,
        Chain(c.province_after_s, c.renotify_every_s),
        muted,
        now,
        has_province=routing.province,
        recheck_s=max(settings.tick_s * 5, 1.0),
    )
    snapshot = record.snapshot()
    out: list[Outgoing] = []
    for send in p.sends:
        if send.channel == "desk":
            targets = [t for t, severities in routing.desk if record.severity in severities]
        elif send.channel == "province":
            targets = [PROVINCE_TARGET]
        else:
            hub = record.origin_hub
            targets = [origin_target(hub)] if hub is not None and hub in routing.origins else []
        payload = {
            "v": 1,
            "hub": routing.hub,
            "role": routing.role,
            "event": send.event,
            "n": send.n,
            "alert": snapshot,
        }
        out.extend(
            Outgoing(target=t, event=send.event, dedup=f"{record.id}:{t}:{send.event}:{send.n}", payload=payload)
            for t in targets
        )
    return Decision(p.facts, p.next_at, out)


class Dispatcher:
    def __init__(
        self,
        dsn: str,
        settings: EscalationSection,
        routing: Routing,
        stats: Stats,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._db = ListeningDatabase(dsn, f"sitewatch-dispatch-{routing.hub}", CHANNEL)
        self._settings = settings
        self._routing = routing
        self._stats = stats
        self._clock = clock
        self._failing = False
        d = settings.duty
        self._duty = (
            duty.DutyPolicy(d.every_s, d.grace_s, frozenset(d.days), d.start, d.end)
            if d.cities and d.days and routing.role == "city"
            else None
        )

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    self.pass_once()
                    self._db.wait(self._wait_s())
                    if self._failing:
                        log.info("dispatcher resumed")
                        self._failing = False
                except StoreError as exc:
                    if not self._failing:
                        log.warning("dispatcher paused, database unavailable: %s", exc)
                        self._failing = True
                    stop.wait(1.0)
        finally:
            self._db.close()

    def _wait_s(self) -> float:
        tick = self._settings.tick_s
        due = self._db.run(escalation.next_due)
        if due is None:
            return tick
        return min(tick, max((due - self._clock()).total_seconds(), 0.005))

    def pass_once(self) -> int:
        """One pass; returns how many notifications were queued."""
        now = self._clock()
        if self._routing.role == "city":
            self._db.run(lambda c: escalation.sync_site_offline(c, now))
        queued = self._dispatch(now)
        if self._db.run(lambda c: alerts.tick(c, now)):
            queued += self._dispatch(self._clock())
        if self._duty is not None:
            self._check_duty(now)
        self._db.run(audit_log.seal)
        return queued

    def _dispatch(self, now: datetime) -> int:
        total = 0
        while True:
            report = self._db.run(lambda c: escalation.dispatch(c, now, self._decide, DISPATCH_LIMIT))
            total += report.queued
            self._stats.add("alerts_dispatched", report.alerts)
            self._stats.add("notifications_queued", report.queued)
            for alert_id, target, event in report.sent:
                log.info("alert %d: %s queued for %s", alert_id, event, target)
            if report.alerts < DISPATCH_LIMIT:
                return total

    def _decide(
        self, record: AlertRecord, silences: Sequence[Silence], inhibitors: Sequence[Inhibitor], now: datetime
    ) -> Decision:
        return decide(record, silences, inhibitors, now, settings=self._settings, routing=self._routing)

    def _check_duty(self, now: datetime) -> None:
        policy = self._duty
        assert policy is not None

        def work(conn: Connection) -> int:
            statuses = duty.desks(policy, self._settings.duty.cities, desk.last_checkins(conn), now)
            return desk.sync_missed(conn, statuses, now)

        if self._db.run(work):
            log.warning("a duty desk missed its check-in")
