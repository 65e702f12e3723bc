"""The agent's config file: TOML, validated strictly before anything starts.

Unknown keys are errors (a misspelt key silently ignored is a setting silently not applied), values are
not coerced (``port = "1883"`` is a mistake to report, not to guess at), and every problem is reported
as ``<file>: <key>: <reason>`` with the key as the operator wrote it, e.g. ``devices[2].id``.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Annotated, Any

import msgspec

from agent.drivers.base import DeviceConfig
from agent.drivers.registry import device_problems
from agent.errors import ConfigError, ConfigProblem
from protocol.topics import SLUG_PATTERN, AgentPath
from protocol.validation import Problem, full, validated

Slug = Annotated[str, full(f"^{SLUG_PATTERN}$")]
# What an operator is told instead of the pattern itself.
_PATTERN_MEANS = {
    f"^{SLUG_PATTERN}$": "not a slug: lower-case a-z, 0-9, '-' or '_', starting with a letter or digit, max 32",
}
MAX_DEVICES = 512


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class AgentSection(_Section, frozen=True, kw_only=True):
    city: Slug
    site: Slug
    name: Slug
    heartbeat_s: Annotated[float, msgspec.Meta(ge=0.5, le=300)] = 5.0
    # A state message goes out at least this often, and at once whenever a device's state changes.
    state_interval_s: Annotated[float, msgspec.Meta(ge=0.5, le=3600)] = 5.0

    @property
    def path(self) -> AgentPath:
        return AgentPath(self.city, self.site, self.name)

    @property
    def agent_id(self) -> str:
        return self.path.agent_id


class BrokerSection(_Section, frozen=True, kw_only=True):
    host: Annotated[str, msgspec.Meta(min_length=1, max_length=253)]
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)] = 1883
    keepalive_s: Annotated[int, msgspec.Meta(ge=5, le=3600)] = 30
    reconnect_min_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 0.5
    reconnect_max_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 30.0
    # TLS with a client certificate (``sitewatch pki issue-agent``): the CA, this agent's certificate and
    # key, relative to the config file's folder. All three or none; none means plain MQTT.
    tls_ca: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    tls_cert: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    tls_key: Annotated[str, msgspec.Meta(min_length=1)] | None = None

    def __post_init__(self) -> None:
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError(
                f"reconnect_min_s ({self.reconnect_min_s:g}) must not exceed reconnect_max_s ({self.reconnect_max_s:g})"
            )
        given = [self.tls_ca is not None, self.tls_cert is not None, self.tls_key is not None]
        if any(given) and not all(given):
            raise ValueError("give all of tls_ca, tls_cert and tls_key, or none of them")

    @property
    def tls(self) -> bool:
        return self.tls_ca is not None


class OutboxSection(_Section, frozen=True, kw_only=True):
    # Relative paths are resolved against the config file's folder; the default is named for the agent.
    path: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    # Periodic readings are thinned past this many records; events and births are never dropped.
    capacity: Annotated[int, msgspec.Meta(ge=100, le=50_000_000)] = 500_000
    # A record the hub has not confirmed after this long is published again.
    resend_after_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 30.0


class AgentConfig(_Section, frozen=True, kw_only=True):
    """A whole agent config, as :func:`parse_config` returns it: built only from validated parts."""

    agent: AgentSection
    broker: BrokerSection
    outbox: OutboxSection = OutboxSection()
    devices: list[DeviceConfig] = []


_SECTIONS: dict[str, type[_Section] | None] = {
    "agent": AgentSection,
    "broker": BrokerSection,
    "outbox": OutboxSection,
    "devices": None,
}


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
    """Validate already-parsed TOML; ``file`` is only used to name the source in errors.

    Every problem is collected before raising (each table and each device checked on its own), so
    ``check-config`` lists them all."""
    found: list[Problem] = []
    sections: dict[str, Any] = {}
    for name, kind in _SECTIONS.items():
        if name not in data:
            if name != "outbox":
                found.append(Problem(name, "field required", "missing"))
            continue
        if kind is not None:
            sections[name], wrong = validated(data[name], kind, name)
            found.extend(wrong)
    found.extend(Problem(str(key), "unknown key", "unknown") for key in data if key not in _SECTIONS)
    devices = _devices(data.get("devices"), found)
    if found:
        raise ConfigError.from_problems([_described(p, file) for p in found])
    return AgentConfig(**sections, devices=devices)


def _devices(tables: Any, found: list[Problem]) -> list[DeviceConfig]:
    if tables is None:
        return []
    if not isinstance(tables, list):
        found.append(Problem("devices", "expected an array of [[devices]] tables", "invalid"))
        return []
    if not 1 <= len(tables) <= MAX_DEVICES:
        found.append(Problem("devices", f"expected 1 to {MAX_DEVICES} devices, got {len(tables)}", "invalid"))
        return []
    devices: list[DeviceConfig] = []
    first: dict[str, int] = {}
    for index, table in enumerate(tables):
        device, wrong = device_problems(table, f"devices[{index}]")
        found.extend(wrong)
        if device is None:
            continue
        if device.id in first:
            found.append(
                Problem(
                    f"devices[{index}].id",
                    f"duplicate device id '{device.id}' (first used by devices[{first[device.id]}].id)",
                    "invalid",
                )
            )
        first.setdefault(device.id, index)
        devices.append(device)
    return devices


def _described(found: Problem, file: str) -> ConfigProblem:
    reason = found.reason
    for pattern, meaning in _PATTERN_MEANS.items():
        if reason == f"expected str matching regex '{pattern}'":
            reason = meaning
    return ConfigProblem(file, found.path, reason)


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
    return msgspec.structs.replace(config, broker=msgspec.structs.replace(broker, **resolved))


def outbox_path(config: AgentConfig, config_file: Path | str) -> Path:
    """Where this agent's outbox lives: as configured, relative to the config file's folder."""
    base = Path(config_file).resolve().parent
    a = config.agent
    name = config.outbox.path or f"outbox-{a.city}-{a.site}-{a.name}.sqlite"
    return base / name


def _lower_first(text: str) -> str:
    return text[:1].lower() + text[1:]
