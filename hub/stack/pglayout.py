"""Where a stack's PostgreSQL cluster lives, and who owns it.

PostgreSQL refuses to run as root, so a root caller runs it as Debian's ``postgres`` account. That account
may not be able to reach the state directory (``/root/...``, or pytest's private ``/tmp/pytest-of-root``),
and a Unix socket path must fit in 107 bytes; in either case the cluster goes to
``/var/tmp/sitewatch-pg-<hash of the state dir>`` instead. The choice is recorded in ``<state>/pg/location``
so later runs find the same cluster. The password and that record always stay in ``<state>/pg``.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path

from hub.stack import system
from hub.stack.errors import StackError

RUN_AS = "postgres"
# sizeof(sockaddr_un.sun_path) less the terminating NUL.
_MAX_SOCKET_PATH = 107


@dataclass(frozen=True)
class PgLayout:
    meta: Path  # <state>/pg: password and location, owned by the caller
    home: Path  # data/, run/ and the log
    user: str | None  # account the server runs as; None means ourselves

    @property
    def data(self) -> Path:
        return self.home / "data"

    @property
    def run(self) -> Path:
        return self.home / "run"

    @property
    def log(self) -> Path:
        return self.home / "postgres.log"

    @property
    def password_file(self) -> Path:
        return self.meta / "password"

    @property
    def relocated(self) -> bool:
        return self.home != self.meta


def _server_user() -> str | None:
    if not system.is_root():
        return None
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError as exc:
        raise StackError(
            f"running as root, PostgreSQL needs the `{RUN_AS}` account, which is missing: "
            "`apt-get install postgresql` creates it"
        ) from exc
    return RUN_AS


def _reachable_by(user: str, path: Path) -> bool:
    probe = system.as_user(user, ["test", "-x", str(path)])
    return subprocess.run(probe, capture_output=True, check=False).returncode == 0


def _fallback_home(state_dir: Path) -> Path:
    digest = hashlib.sha1(str(state_dir.resolve()).encode(), usedforsecurity=False).hexdigest()[:12]
    # Not a temp file: a stable, per-state-dir name; prepare() refuses it if someone else made it first.
    return Path("/var/tmp") / f"sitewatch-pg-{digest}"  # noqa: S108


def resolve(state_dir: Path, port: int) -> PgLayout:
    meta = state_dir / "pg"
    meta.mkdir(parents=True, exist_ok=True)
    user = _server_user()
    record = meta / "location"
    if record.is_file():
        return PgLayout(meta, Path(record.read_text(encoding="utf-8").strip()), user)
    layout = PgLayout(meta, meta, user)
    if (layout.data / "PG_VERSION").is_file():
        return layout
    socket = layout.run / f".s.PGSQL.{port}"
    if (user and not _reachable_by(user, meta)) or len(str(socket)) > _MAX_SOCKET_PATH:
        # Only a move is recorded, so a cluster inside the state directory moves along with it.
        layout = PgLayout(meta, _fallback_home(state_dir), user)
        record.write_text(f"{layout.home}\n", encoding="utf-8")
    return layout


def own(path: Path, user: str | None) -> None:
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def prepare(layout: PgLayout) -> None:
    """Create the cluster's directories, private to the server's account.

    Local connections are trusted (no password), which is safe only because nobody else can reach the
    socket directory.
    """
    expected_uid = pwd.getpwnam(layout.user).pw_uid if layout.user else os.geteuid()
    if layout.relocated:
        layout.home.mkdir(mode=0o700, exist_ok=True)
        st = layout.home.lstat()
        # /var/tmp is world-writable: refuse a directory somebody else prepared for us.
        if layout.home.is_symlink() or st.st_uid not in (expected_uid, os.geteuid()):
            raise StackError(f"{layout.home} exists but is not ours; remove it and retry")
        own(layout.home, layout.user)
        layout.home.chmod(0o700)
    for path in (layout.data, layout.run):
        path.mkdir(mode=0o700, exist_ok=True)
        own(path, layout.user)
        path.chmod(0o700)
    layout.log.touch(mode=0o600, exist_ok=True)
    own(layout.log, layout.user)
