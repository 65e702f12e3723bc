"""The agent's config file: TOML, validated strictly before anything starts.

Unknown keys are errors (a misspelt key silently ignored is a setting silently not applied), values are
not coerced (``port = "1883"`` is a mistake to report, not to guess at), and every problem is reported
as ``<file>: <key>: <reason>`` with the key as the operator wrote it, e.g. ``devices[2].id``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails, InitErrorDetails, PydanticCustomError

from agent.drivers.registry import REGISTRY, AnyDeviceConfig
from agent.errors import ConfigError, ConfigProblem
from protocol.topics import SLUG_PATTERN, AgentPath

_SLUG = re.compile(SLUG_PATTERN)


def _slug(value: str) -> str:
    if not _SLUG.fullmatch(value):
        raise ValueError("not a slug: lower-case a-z, 0-9, '-' or '_', starting with a letter or digit, max 32")
    return value


Slug = Annotated[str, AfterValidator(_slug)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class AgentSection(_Section):
    city: Slug
    site: Slug
    name: Slug
    heartbeat_s: Annotated[float, Field(ge=0.5, le=300)] = 5.0
    # A state message goes out at least this often, and at once whenever a device's state changes.
    state_interval_s: Annotated[float, Field(ge=0.5, le=3600)] = 5.0

    @property
    def path(self) -> AgentPath:
        return AgentPath(self.city, self.site, self.name)

    @property
    def agent_id(self) -> str:
        return self.path.agent_id


class BrokerSection(_Section):
    host: Annotated[str, Field(min_length=1, max_length=253)]
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    keepalive_s: Annotated[int, Field(ge=5, le=3600)] = 30
    reconnect_min_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    reconnect_max_s: Annotated[float, Field(gt=0, le=3600)] = 30.0
    # TLS with a client certificate (``sitewatch pki issue-agent``): the CA, this agent's certificate and
    # key, relative to the config file's folder. All three or none; none means plain MQTT.
    tls_ca: Annotated[str | None, Field(min_length=1)] = None
    tls_cert: Annotated[str | None, Field(min_length=1)] = None
    tls_key: Annotated[str | None, Field(min_length=1)] = None

    @model_validator(mode="after")
    def _backoff_order(self) -> Self:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError(
                f"reconnect_min_s ({self.reconnect_min_s:g}) must not exceed reconnect_max_s ({self.reconnect_max_s:g})"
            )
        return self

    @model_validator(mode="after")
    def _tls_all_or_none(self) -> Self:
        given = [self.tls_ca is not None, self.tls_cert is not None, self.tls_key is not None]
        if any(given) and not all(given):
            raise ValueError("give all of tls_ca, tls_cert and tls_key, or none of them")
        return self

    @property
    def tls(self) -> bool:
        return self.tls_ca is not None


class OutboxSection(_Section):
    # Relative paths are resolved against the config file's folder; the default is named for the agent.
    path: Annotated[str | None, Field(min_length=1)] = None
    # Periodic readings are thinned past this many records; events and births are never dropped.
    capacity: Annotated[int, Field(ge=100, le=50_000_000)] = 500_000
    # A record the hub has not confirmed after this long is published again.
    resend_after_s: Annotated[float, Field(ge=1, le=3600)] = 30.0


class AgentConfig(_Section):
    agent: AgentSection
    broker: BrokerSection
    outbox: OutboxSection = OutboxSection()
    devices: Annotated[list[AnyDeviceConfig], Field(min_length=1, max_length=512)]

    @model_validator(mode="after")
    def _unique_device_ids(self) -> Self:
        first: dict[str, int] = {}
        errors: list[InitErrorDetails] = []
        for index, device in enumerate(self.devices):
            if device.id in first:
                errors.append(
                    InitErrorDetails(
                        type=PydanticCustomError(
                            "duplicate_device_id",
                            "duplicate device id '{id}' (first used by devices[{first}].id)",
                            {"id": device.id, "first": first[device.id]},
                        ),
                        loc=("devices", index, "id"),
                        input=device.id,
                    )
                )
            first.setdefault(device.id, index)
        if errors:
            # Raised as a ValidationError so the duplicate is reported at its own key, like any other error.
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


_TOML_POSITION = re.compile(r"^(?P<msg>.*) \(at line (?P<line>\d+), column (?P<col>\d+)\)$")


def read_toml(path: Path | str) -> dict[str, Any]:
    """Read a TOML file, or raise :class:`ConfigError` naming the file (and the line, for a syntax error)."""
    file = str(path)
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(file, "", f"cannot read: {exc.strerror or exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        text = str(exc)
        match = _TOML_POSITION.match(text)
        if match is None:
            raise ConfigError(file, "", f"TOML syntax error: {_lower_first(text)}") from exc
        reason = f"TOML syntax error: {_lower_first(match['msg'])} (column {match['col']})"
        raise ConfigError(file, f"line {match['line']}", reason) from exc


def parse_config(data: dict[str, Any], file: str) -> AgentConfig:
    """Validate already-parsed TOML; ``file`` is only used to name the source in errors."""
    try:
        return AgentConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.from_problems(describe(exc, file)) from exc


def load_config(path: Path | str) -> AgentConfig:
    return resolve_files(parse_config(read_toml(path), str(path)), path)


def resolve_files(config: AgentConfig, config_file: Path | str) -> AgentConfig:
    """``config`` with its TLS files as absolute paths, each checked readable now rather than at connect."""
    if not config.broker.tls:
        return config
    broker = config.broker
    base = Path(config_file).resolve().parent
    resolved: dict[str, str] = {}
    for key in ("tls_ca", "tls_cert", "tls_key"):
        path = base / str(getattr(broker, key))
        try:
            with path.open("rb"):
                pass
        except OSError as exc:
            raise ConfigError(str(config_file), f"broker.{key}", f"cannot read {path}: {exc.strerror}") from exc
        resolved[key] = str(path)
    return config.model_copy(update={"broker": broker.model_copy(update=resolved)})


def outbox_path(config: AgentConfig, config_file: Path | str) -> Path:
    """Where this agent's outbox lives: as configured, relative to the config file's folder."""
    base = Path(config_file).resolve().parent
    a = config.agent
    name = config.outbox.path or f"outbox-{a.city}-{a.site}-{a.name}.sqlite"
    return base / name


def describe(exc: ValidationError, file: str) -> list[ConfigProblem]:
    return [_problem(err, file) for err in exc.errors()]


def _problem(err: ErrorDetails, file: str) -> ConfigProblem:
    key = _dotted(err["loc"])
    kind = err["type"]
    ctx = err.get("ctx") or {}
    known = ", ".join(REGISTRY)
    if kind == "extra_forbidden":
        return ConfigProblem(file, key, "unknown key")
    if kind == "missing":
        return ConfigProblem(file, key, "field required")
    if kind == "union_tag_invalid":
        return ConfigProblem(file, f"{key}.driver", f"unknown driver {ctx.get('tag')!r} (known: {known})")
    if kind == "union_tag_not_found":
        return ConfigProblem(file, f"{key}.driver", f"field required (one of: {known})")
    message = err["msg"].removeprefix("Value error, ")
    return ConfigProblem(file, key, _lower_first(message))


def _dotted(loc: Sequence[int | str]) -> str:
    key = ""
    previous: int | str | None = None
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        elif isinstance(previous, int) and part in REGISTRY:
            # pydantic puts the chosen union member's tag in the path; the operator never wrote it.
            pass
        else:
            key += f".{part}" if key else part
        previous = part
    return key


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
