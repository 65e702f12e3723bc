"""The broker's ACL for certificate identities (Mosquitto ``acl_file`` syntax); pure.

With ``use_identity_as_username`` the username is the certificate's CN, so one set of patterns serves
every agent: ``%u`` is ``<city>/<site>/<agent>``. An agent may publish only the agent → hub kinds under
its own prefix (its last will included: Mosquitto checks the will topic at CONNECT) and read only the
hub's acks and commands to it. Each hub identity gets its own ``user`` block: it reads and writes all of
``sw/#``, which covers its shared subscription (Mosquitto 2.0 checks a ``$share/<group>/<filter>``
subscription against ``<filter>``), and reads the broker's own counters (dropped messages among them).

An identity whose every certificate is revoked is also denied everything, by name: the CRL stops it at
the next TLS handshake, the deny stops it at once on a connection it already holds (the broker reloads
its ACL on SIGHUP and applies it to connected clients).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from hub.pki.index import Index
from protocol.topics import DOWN_KINDS, ROOT, UP_KINDS, VERSION_SEGMENT

PREFIX = f"{ROOT}/{VERSION_SEGMENT}"


def identities(index: Index, now: datetime) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(hubs with a valid certificate, agents and hubs whose every certificate is revoked)."""
    valid = {c.name for c in index.valid(now) if c.role != "broker"}
    revoked = {c.name for c in index.revoked() if c.role != "broker"}
    hubs = {c.name for c in index.valid(now, "hub")}
    return tuple(sorted(hubs)), tuple(sorted(revoked - valid))


def acl_for(index: Index, now: datetime) -> str:
    return render_acl(*identities(index, now))


def render_acl(hubs: Iterable[str], denied: Iterable[str] = ()) -> str:
    lines = [
        "# Generated from the PKI index (`sitewatch pki acl`): regenerate after issuing a hub or revoking.",
        "# Agents: the username is the certificate's CN, <city>/<site>/<agent>.",
        *(f"pattern write {PREFIX}/%u/{kind}" for kind in sorted(UP_KINDS)),
        *(f"pattern read {PREFIX}/%u/{kind}" for kind in sorted(DOWN_KINDS)),
    ]
    for hub in sorted(set(hubs)):
        lines += ["", f"user {hub}", f"topic readwrite {ROOT}/#", "topic read $SYS/broker/#"]
    for name in sorted(set(denied)):
        lines += ["", "# every certificate of this identity is revoked", f"user {name}", "topic deny #"]
    return "\n".join(lines) + "\n"
