"""The hub's TOML config: strict pydantic models, checked before anything starts.

Every section forbids unknown keys, so a typo is an error naming the key rather than a silently ignored
setting.  Values are strict (TOML already has types: ``port = "1883"`` is a mistake worth reporting).
The database DSN may live in a separate file (``dsn_file``) so the config can be shared without the
password; a relative ``dsn_file`` is read relative to the config file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hub.errors import HubConfigError
from hub.notify.settings import EscalationSection, NotifySection, ProvinceSection, resolve_files
from hub.rules.health_config import HealthSection

_SLUG = r"^[a-z0-9][a-z0-9_-]{0,31}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class HubSection(_Section):
    name: Annotated[str, Field(pattern=_SLUG)] = "jinan"


class MqttSection(_Section):
    host: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    client_id: Annotated[str, Field(min_length=1, max_length=64)] = "sitewatch-hub"
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    # How long the broker keeps our session (and queues QoS 1 messages) while the hub is down.
    session_expiry_s: Annotated[int, Field(ge=0, le=4_294_967_295)] = 3600
    # Several hub processes with the same group split the agents' messages (an MQTT v5 shared
    # subscription); each needs its own client_id. Unset: this hub receives everything.
    shared_group: Annotated[str | None, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")] = None
    # TLS with a client certificate (``sitewatch pki issue-hub NAME``), relative to the config file; all
    # three or none. On the TLS listener the broker makes the certificate's CN the client id, so each hub
    # process needs its own certificate (set client_id to that name too, so logs agree with the broker).
    tls_ca: Annotated[Path | None, Field(strict=False)] = None
    tls_cert: Annotated[Path | None, Field(strict=False)] = None
    tls_key: Annotated[Path | None, Field(strict=False)] = None

    @model_validator(mode="after")
    def _tls_all_or_none(self) -> Self:
        given = [self.tls_ca is not None, self.tls_cert is not None, self.tls_key is not None]
        if any(given) and not all(given):
            raise ValueError("give all of tls_ca, tls_cert and tls_key, or none of them")
        return self


class DatabaseSection(_Section):
    dsn: Annotated[str | None, Field(min_length=1)] = None
    # TOML has no path type, so this one field accepts a string.
    dsn_file: Annotated[Path | None, Field(strict=False)] = None

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.dsn is None) == (self.dsn_file is None):
            raise ValueError("give exactly one of dsn or dsn_file")
        return self


class HttpSection(_Section):
    host: Annotated[str, Field(min_length=1)] = "127.0.0.1"
    # 0 lets the OS choose a free port (tests); the hub logs the URL it serves.
    port: Annotated[int, Field(ge=0, le=65535)] = 8080


class LivenessSection(_Section):
    offline_after_s: Annotated[float, Field(ge=1.0, le=60.0)] = 12.0
    sweep_s: Annotated[float, Field(ge=0.05, le=10.0)] = 1.0

    @model_validator(mode="after")
    def _sweep_faster_than_deadline(self) -> Self:
        if self.sweep_s >= self.offline_after_s:
            raise ValueError("sweep_s must be shorter than offline_after_s")
        return self


class WebSection(_Section):
    """The dashboard: sessions, cookies, origins and language (hub/web, hub/auth)."""

    session_idle_s: Annotated[int, Field(ge=1, le=86_400)] = 7_200
    # An exam day, from the first check-in to the last paper returned.
    session_absolute_s: Annotated[int, Field(ge=1, le=7 * 86_400)] = 14 * 3_600
    # "auto": Secure when the request came over TLS (directly or via a proxy's X-Forwarded-Proto).
    secure_cookies: Literal["auto", "always", "never"] = "auto"
    # Other origins allowed to make state-changing requests (e.g. "https://dashboard.example"); the
    # hub's own origin always is.
    allowed_origins: list[Annotated[str, Field(pattern=r"^https?://[^/\s]+$")]] = []
    default_language: Literal["zh-CN", "en"] = "zh-CN"
    sign_in_failures_per_user: Annotated[int, Field(ge=1, le=1_000)] = 5
    sign_in_failures_per_client: Annotated[int, Field(ge=1, le=10_000)] = 20
    sign_in_window_s: Annotated[int, Field(ge=1, le=86_400)] = 300
    # How often an open live stream proves it is alive; the page calls the connection lost after 3 misses.
    live_ping_s: Annotated[float, Field(ge=0.2, le=60.0)] = 5.0

    @model_validator(mode="after")
    def _absolute_covers_idle(self) -> Self:
        if self.session_absolute_s < self.session_idle_s:
            raise ValueError("session_absolute_s must be at least session_idle_s")
        return self


class DeliverySection(_Section):
    # A run of seqs still missing this long after a later one arrived is a gap: recorded, alerted, resent.
    gap_timeout_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 30.0
    # How far back (device time) gaps are looked for; older holes stay as they were recorded.
    gap_window_s: Annotated[float, Field(ge=60.0, le=7 * 86400.0)] = 3600.0
    gap_check_s: Annotated[float, Field(ge=0.2, le=300.0)] = 5.0
    # While a gap stays open, ask the agent to resend this often.
    resend_every_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 60.0


class RulesSection(_Section):
    """The rules engine (hub/rules/engine.py): timing of evaluation, hysteresis and the go / no-go."""

    enabled: bool = True
    tick_s: Annotated[float, Field(ge=0.1, le=10.0)] = 1.0
    # After a start or a database outage, wait until the writer has stored this long: device states still
    # queued would otherwise read as stale and raise "not reporting" everywhere.
    settle_s: Annotated[float, Field(ge=0.0, le=600.0)] = 10.0
    # Jammer and reader findings: how long one must hold before it is an alert, and be gone before it clears.
    critical_after_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 10.0
    warning_after_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 60.0
    clear_after_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 30.0
    # A device state older than this says nothing about now.
    stale_after_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 30.0
    # The two-person rule (V6) and vault visits outside the authorised windows (V7).
    vault_alone_after_s: Annotated[float, Field(ge=0.0, le=600.0)] = 8.0
    vault_outside_window_after_s: Annotated[float, Field(ge=0.0, le=600.0)] = 5.0
    vault_clear_after_s: Annotated[float, Field(ge=0.0, le=600.0)] = 2.0
    # People may be in the vault this long before each session starts (papers taken out), after it ends
    # (papers returned), after custody opens (papers stored) and before it ends (papers collected).
    vault_handout_minutes: Annotated[float, Field(ge=0.0, le=720.0)] = 60.0
    vault_return_minutes: Annotated[float, Field(ge=0.0, le=720.0)] = 60.0
    vault_arrival_minutes: Annotated[float, Field(ge=0.0, le=720.0)] = 60.0
    # The go / no-go: how long before each session it runs, and how often a red one runs again until green.
    gonogo_lead_minutes: Annotated[float, Field(ge=0.0, le=24 * 60.0)] = 30.0
    gonogo_recheck_s: Annotated[float, Field(ge=1.0, le=3600.0)] = 60.0
    max_clock_offset_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 1.0
    require_probe: bool = True
    # The health rules ([rules.health.*]: outbox, clock skew, database, ingest lag, province delivery).
    health: HealthSection = HealthSection()


class HubConfig(_Section):
    # Required (though every key in it has a default): a top-level [hub] table is how
    # ``sitewatch check-config`` tells a hub config from an agent config.
    hub: HubSection
    mqtt: MqttSection
    database: DatabaseSection
    http: HttpSection = HttpSection()
    liveness: LivenessSection = LivenessSection()
    delivery: DeliverySection = DeliverySection()
    web: WebSection = WebSection()
    escalation: EscalationSection = EscalationSection()
    notify: NotifySection = NotifySection()
    province: ProvinceSection = ProvinceSection()
    rules: RulesSection = RulesSection()

    def dsn(self) -> str:
        """The database DSN, reading ``dsn_file`` if that is how it is given."""
        if self.database.dsn is not None:
            return self.database.dsn
        assert self.database.dsn_file is not None  # guaranteed by DatabaseSection
        path = self.database.dsn_file
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise HubConfigError(str(path), "", f"cannot read the database DSN: {exc.strerror}") from exc
        if not text:
            raise HubConfigError(str(path), "", "the database DSN file is empty")
        return text


def _dotted(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_config(data: dict[str, object], file: str) -> HubConfig:
    try:
        config = HubConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"].removeprefix("Value error, ")
            problems.append((_dotted(err["loc"]), msg))
        raise HubConfigError(file, *problems[0], more=problems[1:]) from None
    return config


def load_config(path: str | Path) -> HubConfig:
    """Read and validate a hub config; every problem is a :class:`HubConfigError` naming file and key."""
    file = str(path)
    try:
        with Path(path).open("rb") as fh:
            data = tomllib.load(fh)
    except OSError as exc:
        raise HubConfigError(file, "", f"cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise HubConfigError(file, "", f"not valid TOML: {exc}") from exc
    config = parse_config(data, file)
    config = _resolve_tls(config, Path(path))
    config = config.model_copy(update=resolve_files(config.notify, config.province, Path(path)))
    dsn_file = config.database.dsn_file
    if dsn_file is not None:
        if not dsn_file.is_absolute():
            dsn_file = Path(path).parent / dsn_file
            config = config.model_copy(update={"database": DatabaseSection(dsn_file=dsn_file)})
        try:
            config.dsn()
        except HubConfigError as exc:
            # Reported now rather than at connect time, and against the config's own key.
            raise HubConfigError(file, "database.dsn_file", f"{dsn_file}: {exc.reason}") from None
    return config


def _resolve_tls(config: HubConfig, path: Path) -> HubConfig:
    """The MQTT TLS files relative to the config file, each checked readable now rather than at connect."""
    mqtt = config.mqtt
    resolved: dict[str, Path] = {}
    for key in ("tls_ca", "tls_cert", "tls_key"):
        given: Path | None = getattr(mqtt, key)
        if given is None:
            continue
        full = given if given.is_absolute() else path.parent / given
        try:
            with full.open("rb"):
                pass
        except OSError as exc:
            raise HubConfigError(str(path), f"mqtt.{key}", f"cannot read {full}: {exc.strerror}") from None
        resolved[key] = full
    return config.model_copy(update={"mqtt": mqtt.model_copy(update=resolved)}) if resolved else config
