"""PID files, liveness, stopping and waiting: what both services need from the operating system.

Liveness reads ``/proc/<pid>/stat`` rather than sending signal 0 because a recorded PID can outlive its
process in two ways: as a zombie (our services are orphans, and not every PID 1 reaps them; containers'
often do not) and by reuse for an unrelated program. Checking the process name and state covers both.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Callable
from pathlib import Path

from hub.stack.errors import StackError

_POLL_S = 0.05


def read_pid(path: Path) -> int | None:
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return None
    return int(text) if text.isdigit() else None


def write_pid(path: Path, pid: int) -> None:
    path.write_text(f"{pid}\n", encoding="ascii")


def is_running(pid: int | None, name: str | None = None) -> bool:
    """True if ``pid`` is a live (not zombie) process, and its command name is ``name`` if one is given."""
    if pid is None or pid <= 0:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return False
    # The command name is parenthesised and may itself contain spaces or parentheses.
    head, _, rest = stat.rpartition(")")
    comm = head.partition("(")[2]
    state = rest.split()[0] if rest.split() else "?"
    # The kernel keeps only the first 15 bytes of a command name.
    return (name is None or comm == name[:15]) and state not in ("Z", "X")


def working_in(directory: Path) -> list[int]:
    """Live processes whose current directory is ``directory`` (only those we may inspect)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "cwd")) == directory and is_running(int(entry.name)):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def _reap(pid: int) -> None:
    # Only succeeds when the process is our own child; otherwise its parent (or PID 1) has to reap it.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)


def terminate(pid: int, name: str, *, first_signal: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Stop ``pid`` with ``first_signal``, then SIGKILL if it is still there after ``timeout`` seconds."""
    for sig, wait_s in ((first_signal, timeout), (signal.SIGKILL, 5.0)):
        if not is_running(pid, name):
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        except PermissionError as exc:
            raise StackError(f"not allowed to stop {name} (pid {pid}): it belongs to another user") from exc

        def gone() -> bool:
            _reap(pid)
            return not is_running(pid, name)

        if wait_until(gone, wait_s):
            return
    raise StackError(f"{name} (pid {pid}) survived SIGKILL")


def port_open(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now: the kernel's pick for a port-0 bind (racy, fine for tests)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else f"(empty log at {path})"
