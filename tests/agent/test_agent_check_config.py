"""``sitewatch check-config FILE`` through the real entry point: exit codes and what it prints."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from hub.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_good_agent_config(
    write_config: Callable[..., Path], agent_toml: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(agent_toml())
    assert main(["check-config", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: OK (agent jinan/s01/a1, 3 devices)\n"
    assert err == ""


def test_bad_agent_config_prints_every_problem(
    write_config: Callable[..., Path], agent_toml: Callable[..., str], capsys: pytest.CaptureFixture[str]
) -> None:
    text = agent_toml().replace("port = 1883", "port = 0").replace('name = "a1"', 'name = "a1"\nnmae = "a2"')
    path = write_config(text)
    assert main(["check-config", str(path)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        f"{path}: agent.nmae: unknown key",
        f"{path}: broker.port: expected int >= 1",
    ]


def test_syntax_error(write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config("[agent\n")
    assert main(["check-config", str(path)]) == 2
    assert capsys.readouterr().err.startswith(f"{path}: line 1: TOML syntax error")


def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", str(tmp_path / "absent.toml")]) == 2
    assert "cannot read" in capsys.readouterr().err


def test_the_shipped_example_passes(capsys: pytest.CaptureFixture[str]) -> None:
    example = REPO / "deploy" / "agent.example.toml"
    assert main(["check-config", str(example)]) == 0
    assert capsys.readouterr().out == f"{example}: OK (agent jinan/s01/a1, 3 devices)\n"


def test_a_hub_config_is_checked_by_the_hub(
    write_config: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    # A top-level [hub] table makes it a hub config: agent rules (such as "[agent] is required") do not apply.
    path = write_config('[hub]\nname = "demo"\nshoe_size = 44\n', name="hub.toml")
    assert main(["check-config", str(path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err
    assert "shoe_size" in err
    assert "broker" not in err, "agent rules were applied to a hub config"


def test_agent_commission_camera_is_reached_through_the_cli(capsys: pytest.CaptureFixture[str]) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "agent.example.toml"
    code = main(["agent", "commission-camera", "--config", str(example), "--camera", "vault-cam-1"])
    assert code == 2
    assert "no camera 'vault-cam-1'" in capsys.readouterr().err


def test_agent_without_config_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["agent"]) == 2
    assert "--config FILE is required" in capsys.readouterr().err
