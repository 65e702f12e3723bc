"""Who a certificate may name, and where its files go; pure.

The certificate's Common Name is the identity the broker sees (``use_identity_as_username``), so it must be
exactly what the ACL and the topics expect:

    agent   ``<city>/<site>/<agent>``, the agent id of its topics (slashes and all)
    hub     a slug, e.g. ``ingest-1``; one per hub process, since the broker also makes it the client id
    broker  the host name or IP address agents connect to (also put in subjectAltName, which clients check)

The three cannot collide: an agent id always has two slashes, a hub name none, and only the broker's
certificate is good for serving TLS (its extended key usage is serverAuth; the others' is clientAuth).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import PurePosixPath
from typing import Final, Literal, get_args

from hub.pki.errors import PkiError
from protocol.errors import TopicError
from protocol.topics import SLUG_PATTERN, AgentPath

Role = Literal["agent", "hub", "broker"]
ROLES: Final[tuple[Role, ...]] = get_args(Role)

# X.520's upper bound for a Common Name; OpenSSL and the cryptography package refuse longer ones.
MAX_COMMON_NAME: Final = 64

_SLUG = re.compile(SLUG_PATTERN)
_HOST_LABEL = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
_FOLDERS: Final[dict[Role, str]] = {"agent": "agents", "hub": "hubs", "broker": "brokers"}


def check_name(role: Role, name: str) -> str:
    """``name`` if a certificate of ``role`` may carry it, else :class:`PkiError` saying why."""
    if role == "agent":
        try:
            AgentPath.from_agent_id(name)
        except TopicError as exc:
            raise PkiError(f"{name!r} is not an agent id <city>/<site>/<agent>: {exc}") from exc
    elif role == "hub":
        if not _SLUG.fullmatch(name):
            raise PkiError(f"hub name {name!r} must be a slug: lower-case a-z, 0-9, '-' or '_', max 32")
    elif not is_ip(name) and not all(_HOST_LABEL.fullmatch(label) for label in name.split(".")):
        raise PkiError(f"broker name {name!r} is neither an IP address nor a lower-case DNS host name")
    if len(name) > MAX_COMMON_NAME:
        raise PkiError(
            f"{name!r} has {len(name)} characters; a certificate's Common Name holds at most {MAX_COMMON_NAME}"
        )
    return name


def is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def bundle_folder(role: Role, name: str) -> PurePosixPath:
    """Where the certificate, key and CA of ``name`` go, relative to the PKI directory."""
    return PurePosixPath(_FOLDERS[role], *check_name(role, name).split("/"))
