"""Writing the PKI's files: atomically, and private keys never readable by anyone else, not even briefly.

A key is created with mode 0600 from its first byte (``os.open`` with the mode, not chmod afterwards) and
renamed into place, so a reader (the broker re-reading its CRL on SIGHUP, an operator's ``cat``) sees
either the old file or the whole new one.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from hub.pki.errors import PkiError

PRIVATE_FILE = 0o600
PUBLIC_FILE = 0o644
PRIVATE_DIR = 0o700


def private_dir(path: Path) -> None:
    """Create ``path`` (and missing parents) as 0700; an existing one is tightened to 0700."""
    try:
        path.mkdir(mode=PRIVATE_DIR, parents=True, exist_ok=True)
        path.chmod(PRIVATE_DIR)
    except OSError as exc:
        raise PkiError(f"cannot create {path}: {exc.strerror or exc}") from exc


def write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fd, mode)  # the umask may have taken bits away from a public file
            fh.write(data)
            fh.flush()
            os.fsync(fd)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise PkiError(f"cannot write {path}: {exc.strerror or exc}") from exc


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise PkiError(f"cannot read {path}: {exc.strerror or exc}") from exc


@contextlib.contextmanager
def locked(directory: Path) -> Iterator[None]:
    """Hold the PKI's lock: two commands issuing at once must not both rewrite the index."""
    with (directory / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
