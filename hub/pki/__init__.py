"""SiteWatch's private CA: TLS identities for agents, hubs and the broker (``sitewatch pki``).

An identity is the certificate's Common Name, which Mosquitto takes as the username and client id:
``<city>/<site>/<agent>`` for an agent, a slug per hub process, the host name for the broker
(:mod:`hub.pki.names`). The broker's ACL (:mod:`hub.pki.acl`) confines each identity to its topics, the
CRL shuts revoked ones out, and the hub's identity rule (``hub.rules.security``) catches a payload that
claims to be someone else.

A PKI directory holds (keys 0600, folders 0700)::

    ca.key  ca.pem  crl.pem  index.json
    agents/<city>/<site>/<agent>/{cert.pem,key.pem,ca.pem}
    hubs/<name>/{cert.pem,key.pem,ca.pem}
    brokers/<host>/{cert.pem,key.pem,ca.pem}

``index.json`` is the record of what was issued and revoked; the CRL is rebuilt from it on every change.
"""

from __future__ import annotations

from hub.pki.authority import Bundle, Pki
from hub.pki.errors import PkiError
from hub.pki.index import Index, Issued

__all__ = ["Bundle", "Index", "Issued", "Pki", "PkiError"]
