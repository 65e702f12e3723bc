"""The hub config's ``[escalation]``, ``[notify]`` and ``[province]`` sections (strict, like the rest of
:mod:`hub.config`, which includes them).

Secrets live in files (``secret_file``, ``key_file``, ``password_file``), read relative to the config file,
checked readable and non-empty when the config loads, and read again only by the notifier that needs them.

    [escalation]                      # chains per severity; `for` per kind; flapping; the duty check-in
    tick_s = 1.0
    for_s = { vault_unobserved = 5.0 }
    [escalation.critical]
    province_after_s = 0              # at once
    renotify_every_s = 300
    [escalation.warning]
    province_after_s = 900            # unacknowledged for 15 min
    renotify_every_s = 900
    [escalation.duty]
    cities = ["jinan"]
    days = [2014-05-17, 2014-05-18]
    every_s = 1800

    [[notify.webhooks]]
    name = "desk"
    url = "https://desk.example/hook"
    secret_file = "secrets/desk-webhook.key"
    [notify.email]
    host = "smtp.example"
    sender = "sitewatch@example"
    to = ["duty@example"]

    [province]                        # a city hub: where escalations go
    url = "https://province.example"
    key_file = "secrets/province.key"
    [province.hubs.jinan]             # the province hub: who may send, where acknowledgements go back
    key_file = "secrets/jinan.key"
    url = "https://jinan.example"
"""

from __future__ import annotations

from datetime import date, time
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.errors import HubConfigError

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,31}$"
_URL = r"^https?://[^/\s]+(/\S*)?$"
SeverityName = Literal["info", "warning", "critical"]
ALL_SEVERITIES: list[SeverityName] = ["info", "warning", "critical"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class ChainSection(_Section):
    """One severity's escalation chain.  Unset: that stage never happens."""

    # Unacknowledged this long after it (re)opened, the province is told; 0: at once.
    province_after_s: Annotated[float | None, Field(ge=0.0, le=7 * 86400.0)] = None
    # The desk's notifiers are told again this often until someone acknowledges.
    renotify_every_s: Annotated[float | None, Field(ge=1.0, le=7 * 86400.0)] = None


class DutySection(_Section):
    """Duty check-in (rule O3): on ``days`` (Beijing dates) between ``start`` and ``end``, each city in
    ``cities`` confirms every ``every_s``; missing it by ``grace_s`` is a critical alert."""

    cities: list[Annotated[str, Field(pattern=_SLUG)]] = []
    days: list[date] = []
    every_s: Annotated[float, Field(ge=1.0, le=86400.0)] = 1800.0
    grace_s: Annotated[float, Field(ge=0.0, le=86400.0)] = 300.0
    start: time = time(0, 0)
    end: time | None = None

    @model_validator(mode="after")
    def _start_before_end(self) -> Self:
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be later than start")
        return self


class EscalationSection(_Section):
    # How often time-driven work runs (pending alerts firing, re-notification, escalation, check-ins);
    # changes are dispatched at once, whatever this says.
    tick_s: Annotated[float, Field(ge=0.05, le=10.0)] = 1.0
    info: ChainSection = ChainSection()
    warning: ChainSection = ChainSection(province_after_s=900.0, renotify_every_s=900.0)
    critical: ChainSection = ChainSection(province_after_s=0.0, renotify_every_s=300.0)
    # Alert kind → seconds the condition must hold before the alert fires (default 0: at once).
    for_s: dict[Annotated[str, Field(pattern=_SLUG)], Annotated[float, Field(ge=0.0, le=86400.0)]] = {}
    # (Re)opened this many times within the window: flapping, held open, not re-notified, until calm.
    flap_window_s: Annotated[float, Field(ge=1.0, le=86400.0)] = 600.0
    flap_openings: Annotated[int, Field(ge=2, le=1000)] = 3
    flap_calm_s: Annotated[float, Field(ge=1.0, le=86400.0)] = 300.0
    duty: DutySection = DutySection()

    def chain(self, severity: str) -> ChainSection:
        return {"info": self.info, "warning": self.warning, "critical": self.critical}.get(severity, self.warning)


class WebhookSection(_Section):
    name: Annotated[str, Field(pattern=_SLUG)]
    url: Annotated[str, Field(pattern=_URL)]
    # HMAC-SHA256 key the receiver verifies X-SiteWatch-Signature with.
    secret_file: Annotated[Path, Field(strict=False)]
    severities: list[SeverityName] = ALL_SEVERITIES
    timeout_s: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0


class EmailSection(_Section):
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 25
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    to: Annotated[list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]], Field(min_length=1)]
    # "starttls": upgrade a plain connection; "tls": TLS from the start (port 465); "none": plain (a local relay).
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: Annotated[str | None, Field(min_length=1)] = None
    password_file: Annotated[Path | None, Field(strict=False)] = None
    severities: list[SeverityName] = ALL_SEVERITIES
    timeout_s: Annotated[float, Field(gt=0.0, le=120.0)] = 20.0

    @model_validator(mode="after")
    def _login_pair(self) -> Self:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("give both username and password_file, or neither")
        return self


class NotifySection(_Section):
    webhooks: list[WebhookSection] = []
    email: EmailSection | None = None
    # Failed deliveries are retried after retry_initial_s, doubling up to retry_max_s, for give_up_after_s.
    retry_initial_s: Annotated[float, Field(ge=0.05, le=3600.0)] = 2.0
    retry_max_s: Annotated[float, Field(ge=0.05, le=86400.0)] = 300.0
    give_up_after_s: Annotated[float, Field(ge=1.0, le=30 * 86400.0)] = 86400.0
    # A claimed delivery not recorded within this long (the hub died mid-way) is tried again.
    lease_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 60.0

    @model_validator(mode="after")
    def _unique_names(self) -> Self:
        names = [w.name for w in self.webhooks] + (["email"] if self.email is not None else [])
        if len(names) != len(set(names)):
            raise ValueError("notifier names must be unique (webhook names, and 'email')")
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("retry_max_s must be at least retry_initial_s")
        return self


class PeerSection(_Section):
    """A city hub, as the province knows it: its shared key, and where its acknowledgements go back."""

    key_file: Annotated[Path, Field(strict=False)]
    url: Annotated[str | None, Field(pattern=_URL)] = None


class ProvinceSection(_Section):
    # A city hub: the province hub's base URL and the key shared with it (both directions).
    url: Annotated[str | None, Field(pattern=_URL)] = None
    key_file: Annotated[Path | None, Field(strict=False)] = None
    timeout_s: Annotated[float, Field(gt=0.0, le=120.0)] = 10.0
    # A signed request older (or newer) than this is refused: a captured one cannot be replayed later.
    max_clock_skew_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 300.0
    # The province hub: the city hubs it accepts escalations from, by their [hub] name.
    hubs: dict[Annotated[str, Field(pattern=_SLUG)], PeerSection] = {}

    @model_validator(mode="after")
    def _url_and_key(self) -> Self:
        if (self.url is None) != (self.key_file is None):
            raise ValueError("give both url and key_file (to escalate to a province), or neither")
        return self


def _checked(file: str, key: str, given: Path, base: Path) -> Path:
    full = given if given.is_absolute() else base / given
    try:
        text = full.read_bytes().strip()
    except OSError as exc:
        raise HubConfigError(file, key, f"cannot read {full}: {exc.strerror}") from None
    if not text:
        raise HubConfigError(file, key, f"{full} is empty")
    return full


def resolve_files(notify: NotifySection, province: ProvinceSection, config_path: Path) -> dict[str, object]:
    """The secret files relative to the config file, each checked now; returns the updated sections."""
    file, base = str(config_path), config_path.parent
    hooks = [
        w.model_copy(update={"secret_file": _checked(file, f"notify.webhooks.{i}.secret_file", w.secret_file, base)})
        for i, w in enumerate(notify.webhooks)
    ]
    email = notify.email
    if email is not None and email.password_file is not None:
        path = _checked(file, "notify.email.password_file", email.password_file, base)
        email = email.model_copy(update={"password_file": path})
    key = None if province.key_file is None else _checked(file, "province.key_file", province.key_file, base)
    hubs = {
        name: peer.model_copy(
            update={"key_file": _checked(file, f"province.hubs.{name}.key_file", peer.key_file, base)}
        )
        for name, peer in province.hubs.items()
    }
    return {
        "notify": notify.model_copy(update={"webhooks": hooks, "email": email}),
        "province": province.model_copy(update={"key_file": key, "hubs": hubs}),
    }


def read_secret(path: Path) -> bytes:
    """A secret file's content, without surrounding whitespace (a trailing newline is not part of a key)."""
    return path.read_bytes().strip()
