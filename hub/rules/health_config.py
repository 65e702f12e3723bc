"""``[rules.health.*]`` in the hub config: one table per health rule, declaring its thresholds, its ``for``
duration and its severity outside and inside an exam session.

Kept apart from :mod:`hub.config` so the rule module (:mod:`hub.rules.health`) and the config agree on one
definition without importing each other.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from protocol.messages import Severity


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    enabled: bool = True
    # How long the condition must hold before it is an alert.
    for_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 30.0
    severity: Severity = "warning"
    # During a session at the site (for the hub's own rules: during any session of the calendar).
    in_session: Severity = "critical"


class OutboxRule(_Rule):
    """An agent's outbox filling up: past ``warning_ratio`` of its capacity (or its oldest message older
    than ``warning_oldest_s``) the rule's severity; past ``critical_ratio``, or when the agent reported
    thinning within ``thinned_within_s``, critical."""

    warning_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = 0.8
    critical_ratio: Annotated[float, Field(gt=0.0, le=1.0)] = 0.95
    warning_oldest_s: Annotated[float, Field(gt=0.0)] = 900.0
    thinned_within_s: Annotated[float, Field(gt=0.0, le=86_400.0)] = 600.0
    # For heartbeats that carry no capacity (agents older than the field): the agent's default bound.
    default_capacity: Annotated[int, Field(ge=1)] = 500_000

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.critical_ratio < self.warning_ratio:
            raise ValueError("critical_ratio must not be below warning_ratio")
        return self


class ClockSkewRule(_Rule):
    """An agent's clock off the hub's by more than ``max_offset_s`` (the go / no-go's bound)."""

    max_offset_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 1.0


class DatabaseRule(_Rule):
    """The hub cannot reach PostgreSQL."""

    for_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 15.0
    severity: Severity = "critical"
    # How often each hub process pings the database on a connection of its own.
    probe_s: Annotated[float, Field(gt=0.0, le=60.0)] = 1.0


class IngestLagRule(_Rule):
    """The ingest queue is deep, or its oldest message has waited long: stored data lags the sites.
    ``critical_age_s`` makes it critical whatever the session."""

    for_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 10.0
    max_depth: Annotated[int, Field(ge=1)] = 5000
    max_age_s: Annotated[float, Field(gt=0.0)] = 10.0
    critical_age_s: Annotated[float, Field(gt=0.0)] = 60.0


class ProvinceDeliveryRule(_Rule):
    """Deliveries to the provincial center have kept failing for ``after_minutes``."""

    for_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 0.0
    after_minutes: Annotated[float, Field(gt=0.0, le=1440.0)] = 10.0


class HealthSection(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # A raised health alert clears after its condition has been gone this long.
    clear_after_s: Annotated[float, Field(ge=0.0, le=3600.0)] = 30.0
    # An agent's heartbeat older than this says nothing about now (the agent is offline: its own alert).
    heartbeat_fresh_s: Annotated[float, Field(gt=0.0, le=3600.0)] = 60.0
    outbox: OutboxRule = OutboxRule()
    clock_skew: ClockSkewRule = ClockSkewRule()
    database: DatabaseRule = DatabaseRule()
    ingest_lag: IngestLagRule = IngestLagRule()
    province_delivery: ProvinceDeliveryRule = ProvinceDeliveryRule()
