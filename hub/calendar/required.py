"""What the calendar requires of a room at an instant; it lives in :mod:`protocol.plan.required`, shared
with the agent (which reports the requirement with its jammer and probe states)."""

from protocol.plan.required import JammerRequirement, Phase, RequiredState, required_state, vault_required

__all__ = ["JammerRequirement", "Phase", "RequiredState", "required_state", "vault_required"]
