"""A people-count timeline through the hub's two-person rule, as the hub would evaluate it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hub.rules.vault import CameraSeen, Raise, TrackState, VaultContext, VaultPolicy, track, vault_findings

ALONE_LIMIT_S = 8.0  # hub.rules.vault's default
T0 = datetime(2026, 6, 6, 8, 0, tzinfo=UTC)


def alone_alerts(counts: list[int], period: float) -> int:
    """How many \"person alone with papers\" alerts one camera's counts (one every ``period`` s) raise."""
    ctx = VaultContext(site="city/site", vault="vault", in_custody=True, authorised=True)
    policy = VaultPolicy()
    assert policy.alone_after == timedelta(seconds=ALONE_LIMIT_S)
    state: TrackState = {}
    raised = 0
    for index, people in enumerate(counts):
        now = T0 + timedelta(seconds=index * period)
        seen = CameraSeen("cam", "ok", now, people, (), tamper_checks=True)
        state, decisions = track(state, vault_findings(ctx, [seen], now, policy), now, policy)
        raised += sum(1 for d in decisions if isinstance(d, Raise) and d.finding.kind == "vault.alone")
    return raised
