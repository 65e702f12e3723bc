"""``sitewatch pki``: the commands an operator types, their output and exit codes."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest

from hub.pki import cli
from hub.pki.authority import Pki


def _run(pki_dir: Path, *argv: str) -> int:
    parser = argparse.ArgumentParser(prog="sitewatch pki")
    cli.add_arguments(parser)
    return cli.run(parser.parse_args(["--dir", str(pki_dir), *argv]))


def test_init_issue_revoke_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki_dir = tmp_path / "pki"
    assert _run(pki_dir, "init", "--name", "jinan-ca") == 0
    assert "created CA 'jinan-ca'" in capsys.readouterr().out
    assert _run(pki_dir, "issue-agent", "jinan/s01/a1") == 0
    out = capsys.readouterr().out
    assert "issued agent 'jinan/s01/a1'" in out
    assert str(pki_dir / "agents" / "jinan" / "s01" / "a1" / "key.pem") in out
    assert _run(pki_dir, "issue-hub", "ingest-1", "--days", "30") == 0
    assert _run(pki_dir, "issue-broker", "mqtt.example.org", "--alt", "10.0.0.5") == 0
    capsys.readouterr()

    assert _run(pki_dir, "revoke", "jinan/s01/a1") == 0
    assert "revoked agent jinan/s01/a1" in capsys.readouterr().out

    assert _run(pki_dir, "list") == 0
    listed = capsys.readouterr().out
    assert "ingest-1" in listed
    assert "mqtt.example.org" in listed
    assert "jinan/s01/a1" not in listed
    assert "CRL #" in listed
    assert "1 revoked" in listed
    assert _run(pki_dir, "list", "--all") == 0
    assert "revoked" in capsys.readouterr().out.split("jinan/s01/a1")[0].splitlines()[-1]

    key = Pki(pki_dir).bundle_folder("hub", "ingest-1") / "key.pem"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600


def test_errors_exit_1_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki_dir = tmp_path / "pki"
    assert _run(pki_dir, "issue-agent", "jinan/s01/a1") == 1
    assert "sitewatch pki init" in capsys.readouterr().err
    assert _run(pki_dir, "init") == 0
    assert _run(pki_dir, "issue-agent", "jinan/s01") == 1
    assert "not an agent id" in capsys.readouterr().err
    assert _run(pki_dir, "issue-agent", "jinan/s01/a1") == 0
    assert _run(pki_dir, "issue-agent", "jinan/s01/a1") == 1
    assert "--replace" in capsys.readouterr().err
    assert _run(pki_dir, "issue-agent", "jinan/s01/a1", "--replace") == 0


def test_crl_warns_before_it_expires(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pki_dir = tmp_path / "pki"
    assert _run(pki_dir, "init", "--crl-days", "7") == 0
    assert _run(pki_dir, "list") == 0
    assert "run `sitewatch pki crl`" in capsys.readouterr().out
    assert _run(pki_dir, "crl", "--days", "60") == 0
    assert "re-signed" in capsys.readouterr().out
    assert _run(pki_dir, "list") == 0
    assert "expires soon" not in capsys.readouterr().out


def test_default_directory_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SITEWATCH_PKI", str(tmp_path / "elsewhere"))
    assert cli.default_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("SITEWATCH_PKI")
    monkeypatch.setenv("SITEWATCH_STATE", str(tmp_path / "state"))
    assert cli.default_dir() == tmp_path / "state" / "pki"
