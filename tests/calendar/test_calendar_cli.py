"""``calendar check``: the example file against an inventory taken from agent configs."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from hub.calendar import cli

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "calendar.example.toml"


def agent_config(tmp_path: Path, city: str, site: str, rooms: list[str]) -> Path:
    devices = "".join(f'\n[[devices]]\ndriver = "sim-jammer"\nid = "jam-{room}"\nroom = "{room}"\n' for room in rooms)
    path = tmp_path / f"{city}-{site}.toml"
    path.write_text(
        f'[agent]\ncity = "{city}"\nsite = "{site}"\nname = "a1"\n[broker]\nhost = "127.0.0.1"\n{devices}',
        encoding="utf-8",
    )
    return path


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return cli.run(parser.parse_args(argv))


def test_the_example_checks_against_its_agents(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agents = [agent_config(tmp_path, "jinan", "s01", ["101", "102"]), agent_config(tmp_path, "qingdao", "s02", ["201"])]
    argv = ["check", str(EXAMPLE)] + [arg for path in agents for arg in ("--agent-config", str(path))]
    assert run(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{EXAMPLE}: OK (3 session(s) at 2 site(s), custody for 2 city(ies))")
    assert "2026-05-17 23:00–01:00  night-shift" in out


def test_a_room_no_agent_has_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agents = [agent_config(tmp_path, "jinan", "s01", ["101"]), agent_config(tmp_path, "qingdao", "s02", ["201"])]
    argv = ["check", str(EXAMPLE)] + [arg for path in agents for arg in ("--agent-config", str(path))]
    assert run(argv) == 2
    err = capsys.readouterr().err
    assert "sessions[0].rooms: unknown room jinan/s01/102 (jinan/s01 has 101)" in err
