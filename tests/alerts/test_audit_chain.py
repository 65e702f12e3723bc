"""The audit log's hash chain in the real database, and ``sitewatch hub audit verify`` naming a tampered row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from alert_clock import at

from hub.errors import StoreError
from hub.store import Connection, audit_log, connect, migrate
from hub.store.audit_log import AuditEntry

REPO = Path(__file__).resolve().parents[2]


def entry(i: int) -> AuditEntry:
    return AuditEntry(
        at=at(i),
        action="alert.acknowledge",
        outcome="ok",
        user_id=None,
        username=f"gen-city-{i}",
        target=f"alert {i}",
        client="127.0.0.1",
        details={"comment": f"已处理 {i}", "n": i * 1.5},
    )


def verify_cli(config: Path) -> tuple[int, dict[str, object]]:
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "hub", "audit", "verify", "--config", str(config), "--json"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.fixture
def audited(pg_dsn: str, tmp_path: Path) -> tuple[Connection, Path]:
    conn = connect(pg_dsn, "audit-tests")
    migrate(conn)
    for i in range(1, 4):
        audit_log.record(conn, entry(i))  # sealed at once (no transaction)
    with conn.transaction():
        for i in range(4, 7):
            audit_log.record(conn, entry(i))  # inside a transaction: sealed later
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\n[mqtt]\nhost = "127.0.0.1"\n[database]\ndsn = {json.dumps(pg_dsn)}\n')
    return conn, config


def test_rows_written_inside_a_transaction_are_sealed_later_and_the_chain_verifies(audited: tuple[Connection, Path]):
    conn, config = audited
    try:
        assert audit_log.unsealed(conn) == 3
        assert audit_log.seal(conn) == 3
        code, verdict = verify_cli(config)
        assert (code, verdict["intact"], verdict["checked"], verdict["unsealed"]) == (0, True, 6, 0)
    finally:
        conn.close()


def test_sealed_rows_cannot_be_changed_or_removed_through_sql(audited: tuple[Connection, Path]):
    conn, _ = audited
    try:
        for statement in (
            "UPDATE audit_log SET outcome = 'refused' WHERE seq = 2",
            "DELETE FROM audit_log WHERE seq = 2",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(psycopg.Error, match="append-only"):
                conn.execute(statement)
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("tamper", "seq", "reason"),
    [
        ('UPDATE audit_log SET details = details || \'{"comment": "无事"}\'::jsonb WHERE seq = 3', 3, "edited"),
        ("UPDATE audit_log SET username = 'gen-someone-else' WHERE seq = 2", 2, "edited"),
        ("DELETE FROM audit_log WHERE seq = 4", 4, "deleted"),
    ],
)
def test_a_tampered_row_is_named_by_audit_verify(audited: tuple[Connection, Path], tamper: str, seq: int, reason: str):
    conn, config = audited
    try:
        audit_log.seal(conn)
        # What someone with the database's superuser could still do: bypass the triggers.
        with conn.transaction():
            conn.execute("SET LOCAL session_replication_role = replica")
            conn.execute(tamper)
        code, verdict = verify_cli(config)
        assert code == 1
        assert verdict["intact"] is False
        broken = verdict["broken"]
        assert isinstance(broken, dict)
        assert broken["seq"] == seq
        assert reason in str(broken["reason"])
        assert audit_log.verify(conn).checked == seq - 1
    finally:
        conn.close()


def test_verify_reports_an_unreachable_database(tmp_path: Path):
    config = tmp_path / "hub.toml"
    config.write_text('[hub]\n[mqtt]\nhost = "127.0.0.1"\n[database]\ndsn = "postgresql://127.0.0.1:1/none"\n')
    done = subprocess.run(
        [sys.executable, "-m", "hub.cli", "hub", "audit", "verify", "--config", str(config)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1
    assert "audit" in done.stderr


def test_store_errors_are_mapped(pg_dsn: str):
    conn = connect(pg_dsn, "audit-tests")
    try:
        with pytest.raises(StoreError):
            audit_log.verify(conn)  # not migrated: no audit_log table
    finally:
        conn.close()
