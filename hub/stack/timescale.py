"""A test-only PostgreSQL + TimescaleDB server: ``TimescaleLane().start()`` returns a psycopg DSN.

TimescaleDB is not packaged for Debian 12, so the hub's TimescaleDB SQL is tested against PGlite (PostgreSQL 17.5
compiled to WebAssembly, in memory) with its TimescaleDB 2.23 extension, served on a loopback port by
pglite-socket. The Node.js side lives in ``deploy/timescale-lane`` (``serve.mjs`` and a locked ``package.json``);
``start()`` runs ``npm ci`` there the first time, then starts ``node serve.mjs`` in its own session and waits for
its "ready <port>" line. Node.js 18 (Debian 12's) or newer.

What the lane is not: a production server, or a multi-client one. It serves ONE connection at a time (a second
client waits in a queue until the first disconnects, up to 60 s, then is dropped: close each connection before
opening the next, and do not use a pool of more than one), and every start is an empty database. Each new
connection gets a fresh session (serve.mjs rolls back and discards what the previous one left). There are no
background workers: policies are stored but run only by ``CALL run_job(id)``, and statement_timeout does not fire.
"""

from __future__ import annotations

import atexit
import fcntl
import os
import selectors
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

from hub.stack.errors import StackError

READY_TIMEOUT_S = 60.0
NPM_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 10.0
HOST = "127.0.0.1"
_LOG_TAIL_CHARS = 2000


class TimescaleLaneError(StackError):
    """The TimescaleDB lane could not be installed, started or stopped; the message says why."""


def default_lane_dir() -> Path:
    """``deploy/timescale-lane`` of the checkout this module is in (hub/stack/timescale.py → repo root)."""
    return Path(__file__).resolve().parents[2] / "deploy" / "timescale-lane"


def _tail(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return text[-_LOG_TAIL_CHARS:].strip()


class TimescaleLane:
    """One ``node serve.mjs`` process: ``start()`` → DSN, ``stop()``; also a context manager."""

    def __init__(self, lane_dir: Path | None = None, port: int | None = None) -> None:
        self.lane_dir = (lane_dir or default_lane_dir()).resolve()
        self.requested_port = port
        self.port: int | None = None
        self.pid: int | None = None
        self.install_seconds: float | None = None  # time npm ci took in the last start(), None if it did not run
        self.start_seconds: float | None = None  # from Popen to "ready" in the last start()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_dir: Path | None = None
        self._log_path: Path | None = None

    # -- discovery -----------------------------------------------------------------------------------------

    @staticmethod
    def available() -> bool:
        """True if ``node`` and ``npm`` are on PATH (all the lane needs from the machine)."""
        return shutil.which("node") is not None and shutil.which("npm") is not None

    @property
    def dsn(self) -> str:
        if self.port is None or not self.running:
            raise TimescaleLaneError("the TimescaleDB lane is not running: call start() first")
        return self._dsn(self.port)

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @staticmethod
    def _dsn(port: int) -> str:
        # The server asks for a password and accepts any; sslmode=disable because it cannot speak TLS.
        return f"host={HOST} port={port} user=postgres password=x dbname=postgres sslmode=disable"

    def _node_modules_ready(self) -> bool:
        installed = self.lane_dir / "node_modules" / ".package-lock.json"
        lock = self.lane_dir / "package-lock.json"
        if not (self.lane_dir / "node_modules" / "@unni-craftsman" / "pglite").is_dir() or not installed.is_file():
            return False
        # A lock file changed since the last install (a version bump pulled in) means install again.
        return installed.stat().st_mtime >= lock.stat().st_mtime

    # -- install ------------------------------------------------------------------------------------------

    def install(self) -> None:
        """``npm ci`` in the lane directory if its node_modules is missing or older than package-lock.json."""
        if self._node_modules_ready():
            return
        npm = shutil.which("npm")
        if npm is None:
            raise TimescaleLaneError("npm is not on PATH: install Node.js and npm (Debian: apt-get install nodejs npm)")
        began = time.monotonic()
        # Two test processes starting lanes at once must not run npm ci in the same folder at the same time.
        with (self.lane_dir / ".npm-ci.lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self._node_modules_ready():  # the other process installed it while this one waited
                return
            self._npm_ci(npm)
        self.install_seconds = time.monotonic() - began

    def _npm_ci(self, npm: str) -> None:
        try:
            result = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=self.lane_dir,
                capture_output=True,
                text=True,
                timeout=NPM_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise TimescaleLaneError(
                f"npm ci in {self.lane_dir} did not finish in {NPM_TIMEOUT_S:.0f} s (is the npm registry reachable?)"
            ) from exc
        if result.returncode != 0:
            output = (result.stdout + result.stderr).strip()[-_LOG_TAIL_CHARS:]
            raise TimescaleLaneError(f"npm ci in {self.lane_dir} failed (exit {result.returncode}):\n{output}")

    # -- start / stop -------------------------------------------------------------------------------------

    def start(self) -> str:
        """Install if needed, start the server, wait for it to listen; returns the DSN. Idempotent."""
        if self.running and self.port is not None:
            return self._dsn(self.port)
        node = shutil.which("node")
        if node is None or shutil.which("npm") is None:
            raise TimescaleLaneError("node and npm are needed for the TimescaleDB lane: install Node.js 18 or newer")
        serve = self.lane_dir / "serve.mjs"
        if not serve.is_file() or not (self.lane_dir / "package-lock.json").is_file():
            raise TimescaleLaneError(
                f"{self.lane_dir} has no serve.mjs or package-lock.json: not a SiteWatch checkout?"
            )
        self.install_seconds = None
        self.install()

        self._log_dir = Path(tempfile.mkdtemp(prefix="sitewatch-timescale-lane-"))
        self._log_path = self._log_dir / "serve.log"
        port = 0 if self.requested_port is None else self.requested_port
        began = time.monotonic()
        with self._log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [node, str(serve), "--port", str(port), "--host", HOST],
                cwd=self.lane_dir,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                start_new_session=True,
            )
        self.pid = self._proc.pid
        atexit.register(self.stop)  # a test run that dies without stop() must not leave the server behind
        try:
            self.port = self._wait_ready(self._proc)
        except BaseException:
            self._kill()
            raise
        self.start_seconds = time.monotonic() - began
        return self._dsn(self.port)

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> int:
        assert proc.stdout is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimescaleLaneError(
                        f"the TimescaleDB lane (pid {proc.pid}) did not say ready within {READY_TIMEOUT_S:.0f} s; "
                        f"its log:\n{_tail(self._log_path)}"
                    )
                if not selector.select(timeout=min(remaining, 0.5)):
                    continue
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:  # stdout closed: the process is exiting
                    code = proc.wait(timeout=STOP_TIMEOUT_S)
                    raise TimescaleLaneError(
                        f"the TimescaleDB lane exited with code {code} before it was ready; "
                        f"its log:\n{_tail(self._log_path)}"
                    )
                buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode("utf-8", errors="replace").strip()
        word, _, port_text = line.partition(" ")
        if word != "ready" or not port_text.isdigit():
            raise TimescaleLaneError(f"the TimescaleDB lane printed {line!r} instead of 'ready <port>'")
        return int(port_text)

    def stop(self) -> None:
        """SIGTERM the recorded process, wait up to 10 s, then SIGKILL. Safe to call when not running."""
        proc = self._proc
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self._kill()
        self._cleanup()

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired as exc:
                raise TimescaleLaneError(f"the TimescaleDB lane (pid {proc.pid}) survived SIGKILL") from exc
        self._cleanup()

    def _cleanup(self) -> None:
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        self.port = None
        self.pid = None
        if self._log_dir is not None:
            shutil.rmtree(self._log_dir, ignore_errors=True)
            self._log_dir = self._log_path = None

    def log_tail(self) -> str:
        """The end of the server's stderr (a WebAssembly abort is reported there); kept until stop()."""
        return _tail(self._log_path)

    def __enter__(self) -> TimescaleLane:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
