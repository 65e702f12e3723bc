"""The escalation side of a hub, wired from its config: the alert policy every process applies, the
configuration record in the audit log, the dispatcher and one sender per notifier, and the routes
(hub-to-hub endpoints, silences, deliveries, duty check-in).

Roles (``sitewatch hub --role``): a **city** hub escalates to its ``[province]``; a **province** hub
receives from the city hubs in ``[province.hubs]``, mirrors their alerts on its dashboard, and sends its
acknowledgements back.  Both notify their own desk (``[notify]``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from fastapi import APIRouter, FastAPI

from hub.alerts.model import FlapPolicy, KindPolicy
from hub.config import HubConfig
from hub.notify import routes as notify_routes
from hub.notify.backoff import RetryPolicy
from hub.notify.base import Notifier
from hub.notify.dispatcher import PROVINCE_TARGET, Dispatcher, Routing, origin_target
from hub.notify.federation import ACKNOWLEDGEMENTS_PATH, ESCALATIONS_PATH, FederationNotifier
from hub.notify.mail import EmailNotifier
from hub.notify.sender import Sender
from hub.notify.settings import read_secret
from hub.notify.webhook import WebhookNotifier
from hub.province import duty_routes
from hub.province import routes as federation_routes
from hub.province.routes import FederationState
from hub.stats import Stats
from hub.store import alerts, audit_log
from hub.store.audit_log import AuditEntry
from hub.store.connection import Connection
from hub.store.desk import DeskStore
from hub.store.records import StorageInfo

log = logging.getLogger("sitewatch.hub.notify")

Role = Literal["city", "province"]
ROLES: tuple[Role, ...] = ("city", "province")
Spawn = Callable[[str, Callable[[threading.Event], None]], None]


def policies(config: HubConfig) -> dict[str, KindPolicy]:
    e = config.escalation
    flap = FlapPolicy(e.flap_window_s, e.flap_openings, e.flap_calm_s)
    return {"*": KindPolicy(0.0, flap), **{kind: KindPolicy(s, flap) for kind, s in e.for_s.items()}}


def config_digests(config: HubConfig, role: str) -> dict[str, str]:
    """A digest per config section (the database's left out: its DSN may hold a password)."""
    dumped = config.model_dump(mode="json", exclude={"database"})
    out = {
        name: hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
        for name, value in sorted(dumped.items())
    }
    out["role"] = role
    return out


def record_config(conn: Connection, config: HubConfig, role: str, now: datetime) -> list[str]:
    """Append the configuration this hub starts with to the audit log; returns the sections changed since."""
    digests = config_digests(config, role)
    last = audit_log.last_entry(conn, ("config.loaded", "config.changed"))
    before: dict[str, str] = {} if last is None else dict(last.details.get("sections", {}))
    changed = sorted(k for k in digests.keys() | before.keys() if digests.get(k) != before.get(k)) if last else []
    if last is not None and not changed:
        return []
    audit_log.record(
        conn,
        AuditEntry(
            at=now,
            action="config.changed" if changed else "config.loaded",
            outcome="ok",
            username="sitewatch",
            target=f"hub {config.hub.name}",
            details={"sections": digests, "changed": changed},
        ),
    )
    return changed


class Escalation:
    def __init__(self, config: HubConfig, role: Role, dsn: str, stats: Stats) -> None:
        self.config = config
        self.role = role
        self._dsn = dsn
        self._stats = stats
        self._desk: DeskStore | None = None
        n = config.notify
        self.notifiers: list[Notifier] = []
        desk: list[tuple[str, frozenset[str]]] = []
        for w in n.webhooks:
            hook = WebhookNotifier(w.name, w.url, read_secret(w.secret_file), timeout_s=w.timeout_s)
            self.notifiers.append(hook)
            desk.append((hook.target, frozenset(w.severities)))
        if n.email is not None:
            mail = EmailNotifier(n.email)
            self.notifiers.append(mail)
            desk.append((mail.target, frozenset(n.email.severities)))
        p = config.province
        has_province = role == "city" and p.url is not None and p.key_file is not None
        if has_province and p.url is not None and p.key_file is not None:
            self.notifiers.append(
                FederationNotifier(
                    PROVINCE_TARGET,
                    p.url,
                    ESCALATIONS_PATH,
                    hub=config.hub.name,
                    key=read_secret(p.key_file),
                    timeout_s=p.timeout_s,
                )
            )
        origins: set[str] = set()
        if role == "province":
            for name, peer in p.hubs.items():
                if peer.url is not None:
                    origins.add(name)
                    self.notifiers.append(
                        FederationNotifier(
                            origin_target(name),
                            peer.url,
                            ACKNOWLEDGEMENTS_PATH,
                            hub=config.hub.name,
                            key=read_secret(peer.key_file),
                            timeout_s=p.timeout_s,
                        )
                    )
        self.routing = Routing(
            hub=config.hub.name, role=role, desk=tuple(desk), province=has_province, origins=frozenset(origins)
        )
        self.retry = RetryPolicy(n.retry_initial_s, n.retry_max_s, n.give_up_after_s)

    def prepare(self, conn: Connection) -> None:
        """On a migrated database: this config's alert policy, and its record in the audit log."""
        alerts.save_policies(conn, policies(self.config))
        changed = record_config(conn, self.config, self.role, datetime.now(UTC))
        if changed:
            log.warning(
                "configuration changed since the last start: %s (recorded in the audit log)", ", ".join(changed)
            )

    def start(self, spawn: Spawn) -> None:
        dispatcher = Dispatcher(self._dsn, self.config.escalation, self.routing, self._stats)
        spawn("hub-dispatch", dispatcher.run)
        for notifier in self.notifiers:
            sender = Sender(
                self._dsn,
                notifier,
                self.retry,
                self._stats,
                lease_s=self.config.notify.lease_s,
                idle_s=self.config.escalation.tick_s,
            )
            spawn(f"hub-send-{notifier.target}", sender.run)

    def attach(self, app: FastAPI, storage: StorageInfo) -> None:
        desk = DeskStore(self._dsn, storage, max_size=4)
        desk.open()
        self._desk = desk
        p = self.config.province
        keys = {name: read_secret(peer.key_file) for name, peer in p.hubs.items()} if self.role == "province" else {}
        province_key = read_secret(p.key_file) if self.role == "city" and p.key_file is not None else None
        app.state.desk = desk
        app.state.duty = self.config.escalation.duty
        app.state.federation = FederationState(
            role=self.role,
            hub=self.config.hub.name,
            store=desk,
            keys=keys,
            province_key=province_key,
            max_skew_s=p.max_clock_skew_s,
        )
        v1 = APIRouter()
        v1.include_router(notify_routes.router)
        v1.include_router(duty_routes.router)
        app.include_router(v1, prefix="/api/v1")
        app.include_router(federation_routes.router)

    def close(self) -> None:
        if self._desk is not None:
            self._desk.close()
            self._desk = None
