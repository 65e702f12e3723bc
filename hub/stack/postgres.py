"""A private PostgreSQL cluster: initdb once, ``pg_ctl start``/``stop``, the postmaster's PID in
``<state>/postgres.pid``, and a ``sitewatch`` database owned by the ``sitewatch`` superuser.

TCP clients authenticate with a random password generated at initdb and kept in ``<state>/pg/password``
(mode 0600); nothing else about the cluster is secret because it listens on loopback only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import signal
import subprocess
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from hub.stack import pglayout, process, system
from hub.stack.errors import StackError
from hub.stack.settings import StackSettings

NAME = "postgres"
PACKAGES = ("postgresql",)
SUPERUSER = "sitewatch"
DATABASE = "sitewatch"
START_TIMEOUT_S = 30
_BIN_ROOT = Path("/usr/lib/postgresql")


def find_bindir(major: str | None = None) -> Path:
    """The newest Debian PostgreSQL bin directory, or the one for ``major`` when a cluster needs it."""

    def installed() -> list[Path]:
        dirs = [d for d in _BIN_ROOT.glob("*/bin") if (d / "pg_ctl").is_file() and d.parent.name.isdigit()]
        return sorted(dirs, key=lambda d: int(d.parent.name))

    found = installed()
    if not found:
        system.apt_install("PostgreSQL", PACKAGES)
        found = installed()
    if major is not None:
        found = [d for d in found if d.parent.name == major]
        if not found:
            raise StackError(f"the cluster was made by PostgreSQL {major}, which is not installed under {_BIN_ROOT}")
    if not found:
        raise StackError(f"no PostgreSQL binaries under {_BIN_ROOT} after installing {' '.join(PACKAGES)}")
    return found[-1]


class Postgres:
    def __init__(self, settings: StackSettings) -> None:
        self._settings = settings
        self.pid_file = settings.state_dir / "postgres.pid"

    def layout(self) -> pglayout.PgLayout:
        return pglayout.resolve(self._settings.state_dir, self._settings.pg_port)

    def pid(self) -> int | None:
        pid = process.read_pid(self.pid_file)
        return pid if process.is_running(pid, NAME) else None

    def password(self) -> str:
        try:
            return self.layout().password_file.read_text(encoding="utf-8").strip()
        except FileNotFoundError as exc:
            raise StackError(f"no password at {exc.filename}: has `sitewatch stack up` run here?") from exc

    def dsn(self, dbname: str = DATABASE) -> str:
        s = self._settings
        host = f"[{s.host}]" if ":" in s.host else s.host
        return f"postgresql://{SUPERUSER}:{quote(self.password(), safe='')}@{host}:{s.pg_port}/{quote(dbname)}"

    def start(self) -> int:
        layout = self.layout()
        # The postmaster's own PID file is the truth; ours may be missing after a crash of this tool.
        running = self._running_postmaster(layout)
        if running is None:
            pglayout.prepare(layout)
            self._clear_stale_lock(layout)
            bindir = self._init_cluster(layout)
            running = self._launch(layout, bindir)
        process.write_pid(self.pid_file, running)
        self._ensure_database()
        return running

    def _run(self, layout: pglayout.PgLayout, argv: list[str], what: str) -> None:
        done = subprocess.run(
            system.as_user(layout.user, argv), cwd=layout.home, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise StackError(
                f"{what} failed (exit {done.returncode}):\n{done.stdout}{done.stderr}"
                f"--- {layout.log}\n{process.log_tail(layout.log)}"
            )

    def _init_cluster(self, layout: pglayout.PgLayout) -> Path:
        version_file = layout.data / "PG_VERSION"
        if version_file.is_file():
            return find_bindir(version_file.read_text(encoding="ascii").strip())
        if any(layout.data.iterdir()):
            raise StackError(f"{layout.data} is neither empty nor a PostgreSQL cluster; remove it and retry")
        bindir = find_bindir()
        if not layout.password_file.exists():
            fd = os.open(layout.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(secrets.token_urlsafe(24) + "\n")
        # initdb runs as the server's account, which cannot read our copy of the password.
        pwfile = layout.run / "initdb.pw"
        pwfile.write_text(self.password() + "\n", encoding="utf-8")
        pwfile.chmod(0o600)
        pglayout.own(pwfile, layout.user)
        try:
            self._run(
                layout,
                [
                    str(bindir / "initdb"),
                    f"--pgdata={layout.data}",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    f"--username={SUPERUSER}",
                    f"--pwfile={pwfile}",
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "--no-instructions",
                ],
                "initdb",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        return bindir

    @staticmethod
    def _postmaster_file(layout: pglayout.PgLayout) -> list[str]:
        # Line 1 is the postmaster's PID, line 4 its port.
        try:
            return (layout.data / "postmaster.pid").read_text(encoding="ascii").splitlines()
        except FileNotFoundError:
            return []

    def _running_postmaster(self, layout: pglayout.PgLayout, *, check_port: bool = True) -> int | None:
        lines = self._postmaster_file(layout)
        pid = int(lines[0]) if lines and lines[0].strip().isdigit() else None
        if pid is None or not process.is_running(pid, NAME):
            return None
        port = lines[3].strip() if len(lines) > 3 else "?"
        if check_port and port != str(self._settings.pg_port):
            raise StackError(
                f"postgres (pid {pid}) already serves {layout.data} on port {port}; "
                "stop it with `sitewatch stack down` or use that port"
            )
        return pid

    def _clear_stale_lock(self, layout: pglayout.PgLayout) -> None:
        """Remove the lock file of a postmaster that was killed and is now a zombie.

        PostgreSQL clears a stale lock itself unless its PID still exists, and a zombie does exist while
        nobody reaps it (some containers' PID 1 never does). The lock also guards the shared memory of
        surviving backends, so it goes only once none of them works in the data directory any more.
        """
        locks = [layout.data / "postmaster.pid", *layout.run.glob(".s.PGSQL.*.lock")]
        stale = [lock for lock in locks if self._lock_holder(lock) not in (None, "alive")]
        if not stale:
            return
        data = layout.data.resolve()
        if not process.wait_until(lambda: not process.working_in(data), timeout=15.0):
            raise StackError(f"processes of a killed postgres still work in {data}: {process.working_in(data)}")
        for lock in stale:
            lock.unlink(missing_ok=True)

    @staticmethod
    def _lock_holder(lock: Path) -> str | None:
        """None without a lock, "alive" if its PID runs, else "dead"."""
        try:
            first = lock.read_text(encoding="ascii").partition("\n")[0].strip()
        except FileNotFoundError:
            return None
        return "alive" if first.isdigit() and process.is_running(int(first), NAME) else "dead"

    def _launch(self, layout: pglayout.PgLayout, bindir: Path) -> int:
        s = self._settings
        if process.port_open(s.host, s.pg_port):
            raise StackError(
                f"cannot start postgres: {s.host}:{s.pg_port} is already taken by another program "
                "(choose another port with --pg-port)"
            )
        # pg_ctl hands -o to the shell, hence the quoting.
        server_options = " ".join(
            [
                f"-c listen_addresses={shlex.quote(s.host)}",
                f"-p {s.pg_port}",
                f"-c unix_socket_directories={shlex.quote(str(layout.run))}",
                "-c fsync=on",
            ]
        )
        self._run(
            layout,
            [
                str(bindir / "pg_ctl"),
                "start",
                f"--pgdata={layout.data}",
                f"--log={layout.log}",
                "--wait",
                f"--timeout={START_TIMEOUT_S}",
                "--silent",
                f"--options={server_options}",
            ],
            "pg_ctl start",
        )
        pid = self._running_postmaster(layout)
        if pid is None:
            raise StackError(f"pg_ctl reported a start but no postmaster is running:\n{process.log_tail(layout.log)}")
        return pid

    def _ensure_database(self) -> None:
        try:
            with psycopg.connect(self.dsn("postgres"), autocommit=True, connect_timeout=10) as conn:
                exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
                if exists is None:
                    conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DATABASE)))
        except psycopg.Error as exc:
            raise StackError(f"postgres is running but refused our setup connection: {exc}") from exc

    def stop(self) -> None:
        if not (self._settings.state_dir / "pg").is_dir():
            self.pid_file.unlink(missing_ok=True)
            return  # never started here: nothing to stop, and nothing to create
        layout = self.layout()
        # Also stops a postmaster whose PID only PostgreSQL itself still records (our file was lost).
        pid = self.pid() or self._running_postmaster(layout, check_port=False)
        if pid is not None:
            version_file = layout.data / "PG_VERSION"
            with contextlib.suppress(StackError, OSError):  # the signals below stop it all the same
                bindir = find_bindir(version_file.read_text(encoding="ascii").strip())
                stop = [str(bindir / "pg_ctl"), "stop", f"--pgdata={layout.data}", "--mode=fast", "--wait"]
                self._run(layout, stop, "pg_ctl stop")
            # SIGINT is PostgreSQL's "fast" shutdown; SIGTERM would wait for every client to leave.
            process.terminate(pid, NAME, first_signal=signal.SIGINT, timeout=15.0)
        self.pid_file.unlink(missing_ok=True)
