"""``sitewatch pki``: the private CA that gives agents, hubs and the broker their TLS identities.

    sitewatch pki init [--name NAME]                  create the CA (key, certificate, empty CRL)
    sitewatch pki issue-agent CITY/SITE/AGENT         key + certificate for a site agent
    sitewatch pki issue-hub NAME                      ... for one hub process (e.g. ingest-1)
    sitewatch pki issue-broker HOST [--alt NAME]...   ... for the broker's TLS listener
    sitewatch pki revoke NAME [--role ROLE]           revoke, then reload the broker
    sitewatch pki crl [--days N]                      re-sign the CRL before it expires (monthly, from cron)
    sitewatch pki list [--all]                        what was issued: valid ones, or all
    sitewatch pki acl                                 print the broker's acl_file for the identities issued

The directory is ``--dir``, else ``$SITEWATCH_PKI``, else ``pki`` in the stack's state directory (where
``sitewatch stack`` looks for it). Errors exit 1 with one line saying what to do.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Final

from hub.pki.acl import acl_for
from hub.pki.authority import CA_DAYS, CRL_DAYS, LEAF_DAYS, Bundle, Pki, utc_now
from hub.pki.errors import PkiError
from hub.pki.names import ROLES, Role

_ISSUE: Final[dict[str, Role]] = {f"issue-{role}": role for role in ROLES}
# `list` warns this long before the CRL expires: after that the broker refuses every client.
_CRL_WARNING: Final = timedelta(days=14)


def default_dir() -> Path:
    env = os.environ.get("SITEWATCH_PKI")
    if env:
        return Path(env)
    from hub.stack.cli import default_state_dir  # noqa: PLC0415  # only for the default, not on every import

    return default_state_dir() / "pki"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", type=Path, default=None, help="the CA's directory (default: $SITEWATCH_PKI or .state/pki)"
    )
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    init = sub.add_parser("init", help="create the CA")
    init.add_argument("--name", default="sitewatch", help="the CA's common name (default: sitewatch)")
    init.add_argument("--days", type=int, default=CA_DAYS, help=f"CA validity (default: {CA_DAYS})")
    init.add_argument("--crl-days", type=int, default=CRL_DAYS, help=f"CRL validity (default: {CRL_DAYS})")

    for role, what, metavar in (
        ("agent", "a site agent", "CITY/SITE/AGENT"),
        ("hub", "a hub process (its name is also its MQTT client id)", "NAME"),
        ("broker", "the broker's TLS listener", "HOST"),
    ):
        issue = sub.add_parser(f"issue-{role}", help=f"issue a certificate for {what}")
        issue.add_argument("name", metavar=metavar)
        issue.add_argument("--days", type=int, default=LEAF_DAYS, help=f"validity (default: {LEAF_DAYS})")
        issue.add_argument("--replace", action="store_true", help="revoke the name's current certificate")
        if role == "broker":
            issue.add_argument(
                "--alt", action="append", default=[], metavar="NAME", help="another DNS name or IP of the broker"
            )

    revoke = sub.add_parser("revoke", help="revoke every valid certificate of a name")
    revoke.add_argument("name")
    revoke.add_argument("--role", choices=ROLES, default=None, help="when a hub and a broker share a name")

    crl = sub.add_parser("crl", help="re-sign the CRL (it must be renewed before it expires)")
    crl.add_argument("--days", type=int, default=None, help="new CRL validity (default: as at init)")

    listing = sub.add_parser("list", help="list issued certificates")
    listing.add_argument("--all", action="store_true", help="include revoked and expired ones")

    sub.add_parser("acl", help="print the broker's ACL file (a user block per hub, a deny per revoked identity)")


def run(args: argparse.Namespace) -> int:
    pki = Pki(args.dir if args.dir is not None else default_dir())
    try:
        _dispatch(pki, args)
    except PkiError as exc:
        print(f"sitewatch pki {args.action}: {exc}", file=sys.stderr)
        return 1
    return 0


def _dispatch(pki: Pki, args: argparse.Namespace) -> None:
    action: str = args.action
    if action == "init":
        ca = pki.init(args.name, days=args.days, crl_days=args.crl_days)
        print(f"created CA {args.name!r} in {pki.root}, valid until {ca.not_valid_after_utc:%Y-%m-%d}")
        print(f"keep {pki.ca_key_path} secret (mode 0600); give {pki.ca_cert_path} to agents, hubs and the broker")
    elif action in _ISSUE:
        alt = getattr(args, "alt", [])
        _print_bundle(pki.issue(_ISSUE[action], args.name, days=args.days, replace=args.replace, alt_names=alt))
    elif action == "revoke":
        for cert in pki.revoke(args.name, args.role):
            print(f"revoked {cert.role} {cert.name} (serial {cert.serial:x})")
        print(f"CRL updated: {pki.crl_path}; copy it and a fresh `sitewatch pki acl` to the broker, then reload it")
    elif action == "acl":
        print(acl_for(pki.index(), utc_now()), end="")
    elif action == "crl":
        crl = pki.refresh_crl(args.days)
        print(f"re-signed {pki.crl_path}: next update {crl.next_update_utc:%Y-%m-%d %H:%M} UTC; reload the broker")
    else:
        _print_list(pki, show_all=args.all)


def _print_bundle(bundle: Bundle) -> None:
    c = bundle.issued
    print(f"issued {c.role} {c.name!r}: serial {c.serial:x}, valid until {c.not_after:%Y-%m-%d}")
    print(f"  certificate  {bundle.cert}")
    print(f"  key          {bundle.key}  (mode 0600: copy it to the {c.role} only, over a secure channel)")
    print(f"  CA           {bundle.ca}")


def _print_list(pki: Pki, *, show_all: bool) -> None:
    index = pki.index()
    now = utc_now()
    rows = [c for c in index.issued if show_all or c.valid(now)]
    print(f"{'role':<7} {'status':<8} {'valid until':<11} {'serial':<40} name")
    for c in sorted(rows, key=lambda c: (c.role, c.name, c.not_before)):
        print(f"{c.role:<7} {c.status(now):<8} {c.not_after:%Y-%m-%d}  {c.serial:<40x} {c.name}")
    next_update = pki.crl().next_update_utc or now
    print(f"CRL #{index.crl_number}: {len(index.revoked())} revoked, next update {next_update:%Y-%m-%d %H:%M} UTC")
    if next_update - now < _CRL_WARNING:
        print("the CRL expires soon and the broker then refuses every client: run `sitewatch pki crl`")
