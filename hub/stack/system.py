"""Root, other users and Debian packages.

The stack installs its two servers with apt-get when they are missing and we are root (a fresh Debian
box, CI); anyone else gets the command to run instead of a traceback.
"""

from __future__ import annotations

import logging
import os
import subprocess
from collections.abc import Sequence

from hub.stack.errors import StackError

log = logging.getLogger(__name__)


def is_root() -> bool:
    return os.geteuid() == 0


def as_user(user: str | None, argv: Sequence[str]) -> list[str]:
    """``argv`` run as ``user`` (through runuser, so no password or tty is needed), or as ourselves."""
    return ["runuser", "-u", user, "--", *argv] if user else list(argv)


def _apt_get(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        return subprocess.run(["apt-get", *args], env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise StackError("apt-get not found: install the packages with your system's package manager") from exc


def apt_install(what: str, packages: Sequence[str]) -> None:
    """Install ``packages`` (which provide ``what``) with apt-get, or explain how to when we cannot."""
    names = " ".join(packages)
    if not is_root():
        raise StackError(
            f"{what} is not installed: run as root so it can be installed with apt-get, "
            f"or `sudo apt-get install {names}`"
        )
    log.warning("installing %s with apt-get", names)
    install = ["install", "-y", "--no-install-recommends", *packages]
    done = _apt_get(install)
    if done.returncode != 0:
        # A fresh image often has no package lists yet; refreshing them is slow, so only on failure.
        _apt_get(["update"])
        done = _apt_get(install)
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
        raise StackError(f"`apt-get install {names}` failed (exit {done.returncode}):\n{tail}")
