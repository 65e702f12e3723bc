"""Rules end-to-end fixtures: a real hub process (real broker, fresh database) with short hysteresis."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rules_harness import FAST_RULES, FakeAgent, RulesHub, start_hub

from hub.stack.process import free_port
from protocol.messages import DeviceInfo


@pytest.fixture
def rules_hub(mqtt: tuple[str, int], pg_dsn: str, tmp_path: Path) -> Iterator[Callable[..., RulesHub]]:
    started: list[RulesHub] = []

    def start(extra: str = "", **rules: float) -> RulesHub:
        hub = start_hub(mqtt, pg_dsn, tmp_path, free_port(), {**FAST_RULES, **rules}, extra)
        started.append(hub)
        return hub

    yield start
    for hub in started:
        code = hub.stop()
        sys.stderr.write(f"--- hub log ({hub.log}), exit {code} ---\n{hub.log_text()}\n")
        assert code == 0, f"the hub did not exit cleanly on SIGTERM (exit {code})"


@pytest.fixture
def fake_agent(mqtt: tuple[str, int]) -> Iterator[Callable[[str, list[DeviceInfo]], FakeAgent]]:
    made: list[FakeAgent] = []

    def make(agent_id: str, devices: list[DeviceInfo]) -> FakeAgent:
        agent = FakeAgent(mqtt, agent_id, devices)
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.close()
