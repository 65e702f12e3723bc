"""The fault tests' own tools: the TCP proxy cuts and heals, and the exactly-once check catches what it should."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from delivery_harness import check_stream, wait_for
from proxy import TcpProxy

from hub.store import connect, migrate

T0 = datetime(2026, 6, 7, 8, tzinfo=UTC)
AGENT = "dlv/check/a1"


@pytest.fixture
def echo_server() -> Iterator[tuple[str, int]]:
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)
    done = threading.Event()

    def serve(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(4096):
                conn.sendall(data)

    def accept() -> None:
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[:2]
    done.set()
    thread.join(5)
    listener.close()


def roundtrip(port: int, data: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(data)
        return sock.recv(4096)


def dropped(sock: socket.socket) -> bool:
    """The peer ended the connection (with a FIN or a reset; a cut may do either)."""
    try:
        return sock.recv(10) == b""
    except ConnectionResetError:
        return True


def test_the_proxy_forwards_cuts_and_heals(echo_server: tuple[str, int]) -> None:
    proxy = TcpProxy(echo_server)
    try:
        assert roundtrip(proxy.port, b"before") == b"before"
        held = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
        with held:
            wait_for(lambda: proxy.open_connections == 1, 5, "the held connection")
            proxy.cut()
            # The open connection is dropped, and new ones are refused while the network is cut.
            assert dropped(held)
            with pytest.raises(ConnectionRefusedError):
                roundtrip(proxy.port, b"during")
        proxy.heal()
        assert roundtrip(proxy.port, b"after") == b"after"
        assert proxy.counters.cuts == 1
        assert proxy.counters.dropped == 1
    finally:
        proxy.close()


def _insert(conn: psycopg.Connection, table: str, boot: str, seq: int, n: int | None = None) -> None:
    ts = T0 + timedelta(seconds=seq)
    if table == "heartbeats":
        conn.execute(
            "INSERT INTO heartbeats (time, received_at, agent_id, boot, seq, historical, uptime_s, outbox_depth)"
            " VALUES (%s, %s, %s, %s, %s, false, 1, 0)",
            (ts, ts, AGENT, boot, seq),
        )
    else:
        conn.execute(
            "INSERT INTO events (time, received_at, agent_id, boot, seq, historical, name, severity, details)"
            " VALUES (%s, %s, %s, %s, %s, false, 'stream.tick', 'info', %s::jsonb)",
            (ts, ts, AGENT, boot, seq, json.dumps({"n": n})),
        )


@pytest.mark.integration
def test_the_check_reports_gaps_repeats_and_missing_events(delivery_db: str) -> None:
    conn = connect(delivery_db, "dlv-check")
    try:
        migrate(conn, use_timescaledb=False)
        boot = "00112233aabbccdd"
        conn.execute(
            "INSERT INTO agent_sessions (agent_id, boot, birth_seq, started_at, born_at, birth_received_at,"
            " sw_version, heartbeat_s, device_count) VALUES (%s, %s, 0, %s, %s, %s, 'test', 1, 1)",
            (AGENT, boot, T0, T0, T0),
        )
        _insert(conn, "heartbeats", boot, 1)
        _insert(conn, "events", boot, 2, n=0)
        # seq 3 never arrives; n = 1 comes twice (under two seqs); n = 2 never.
        _insert(conn, "events", boot, 4, n=1)
        _insert(conn, "events", boot, 5, n=1)
        _insert(conn, "heartbeats", boot, 5)  # the same seq in two tables
        _insert(conn, "heartbeats", "ffeeddccbbaa9988", 1)  # a boot whose birth was never stored
    finally:
        conn.close()
    report = check_stream(delivery_db, AGENT, total=3)
    assert report.boots == {boot: 5, "ffeeddccbbaa9988": 1}
    assert report.stream_events == 3
    assert report.problems == [
        "1 (boot, seq) stored in more than one table, e.g. [('00112233aabbccdd', 5)]",
        "boot 00112233aabbccdd: 1 of seqs 1-5 missing: 3",
        "stream events stored more than once: n = 1",
        "1 stream events missing: n = 2",
        "boots without a stored birth: ['ffeeddccbbaa9988']",
    ]
