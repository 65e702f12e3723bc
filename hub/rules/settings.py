"""The rules' tunables as policy objects, built once from the hub config's ``[rules]`` section."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from hub.config import RulesSection
from hub.rules.gonogo import GoNoGoPolicy
from hub.rules.health_config import HealthSection
from hub.rules.jammer import HysteresisPolicy, JammerPolicy
from hub.rules.vault import VaultPolicy
from hub.rules.windows import VaultWindows


@dataclass(frozen=True, slots=True)
class RulesSettings:
    tick: timedelta = timedelta(seconds=1)
    settle: timedelta = timedelta(seconds=10)
    stale_after: timedelta = timedelta(seconds=30)
    hysteresis: HysteresisPolicy = field(default_factory=HysteresisPolicy)
    jammer: JammerPolicy = field(default_factory=JammerPolicy)
    vault: VaultPolicy = field(default_factory=VaultPolicy)
    windows: VaultWindows = field(default_factory=VaultWindows)
    gonogo: GoNoGoPolicy = field(default_factory=GoNoGoPolicy)
    gonogo_lead: timedelta = timedelta(minutes=30)
    gonogo_recheck: timedelta = timedelta(seconds=60)
    health: HealthSection = field(default_factory=HealthSection)

    @classmethod
    def from_section(cls, s: RulesSection) -> RulesSettings:
        stale = timedelta(seconds=s.stale_after_s)
        return cls(
            tick=timedelta(seconds=s.tick_s),
            settle=timedelta(seconds=s.settle_s),
            stale_after=stale,
            hysteresis=HysteresisPolicy(
                raise_after={
                    "critical": timedelta(seconds=s.critical_after_s),
                    "warning": timedelta(seconds=s.warning_after_s),
                },
                clear_after=timedelta(seconds=s.clear_after_s),
            ),
            jammer=JammerPolicy(stale_after=stale),
            vault=VaultPolicy(
                alone_after=timedelta(seconds=s.vault_alone_after_s),
                outside_window_after=timedelta(seconds=s.vault_outside_window_after_s),
                clear_after=timedelta(seconds=s.vault_clear_after_s),
                stale_after=stale,
            ),
            windows=VaultWindows(
                handout=timedelta(minutes=s.vault_handout_minutes),
                returning=timedelta(minutes=s.vault_return_minutes),
                arrival=timedelta(minutes=s.vault_arrival_minutes),
            ),
            gonogo=GoNoGoPolicy(
                max_clock_offset_s=s.max_clock_offset_s, stale_after=stale, require_probe=s.require_probe
            ),
            gonogo_lead=timedelta(minutes=s.gonogo_lead_minutes),
            gonogo_recheck=timedelta(seconds=s.gonogo_recheck_s),
            health=s.health,
        )
