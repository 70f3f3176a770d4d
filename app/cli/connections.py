"""`groupmap connections` and `--connection NAME`: the app's saved connections, headless.

A saved connection supplies the URL, target, attribute, match attribute and plain-http
choice; flags given explicitly win. The token comes from `--token-env` when that flag is
given, else from the OS keyring where the app stored it, else from $GROUPMAP_TOKEN.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from app.core.errors import InputError

if TYPE_CHECKING:
    from app.cli.common import AddCommand

DEFAULT_TOKEN_ENV = "GROUPMAP_TOKEN"


def register(add: AddCommand) -> None:
    listing = add(
        "connections", help="list the connections saved in the app (never their tokens)"
    )
    listing.add_argument("--json", action="store_true", help="print one JSON array on stdout")
    listing.add_argument(
        "--delete",
        metavar="NAME",
        help="delete this saved connection and the secrets it stored in the keyring (its token,"
        " an Okta token or Entra client secret no other connection uses)",
    )
    listing.set_defaults(run=cmd_connections)


def add_server_options(parser: argparse.ArgumentParser, url_help: str) -> None:
    """How sync, apply and undo reach the server: URL or saved connection, token, plain http."""
    parser.add_argument("--url", metavar="BASE_URL", help=url_help)
    add_connection_option(parser)
    parser.add_argument(
        "--token-env",
        metavar="VAR",
        help="environment variable holding the bearer token (default GROUPMAP_TOKEN)",
    )
    parser.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain http to a host other than this machine",
    )


def add_connection_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--connection",
        metavar="NAME",
        help="use a connection saved in the app: its URL, target, attributes and stored token",
    )


def cmd_connections(args: argparse.Namespace) -> int:
    from app.core.mapping import as_typed
    from app.scim.config.connections import (
        connections_path,
        delete_connection,
        find_connection,
        read_connections,
    )
    from app.scim.config.tokens import TokenStore
    from app.scim.http.redact import redact_url

    tokens = TokenStore()
    if args.delete:
        find_connection(args.delete)  # an unknown name: the names there are
        forgotten = ", ".join(delete_connection(args.delete, tokens.delete))
        print(f"Deleted the connection {as_typed(args.delete)} and the secrets it stored in "
              f"the keyring ({forgotten}).", file=sys.stderr if args.json else sys.stdout)
    rows = [
        {
            "name": p.name,
            "url": redact_url(p.url),  # an API key in the query is a secret
            "target": p.target,
            "attribute": p.attribute,
            "match_attribute": p.match_attribute,
            "token_stored": bool(tokens.get(p.name)),
            "source": p.source or None,  # a live source (groupmap sources)
            "notify": bool(p.notify),  # a webhook URL is a secret too: only whether there is one
        }
        for p in read_connections()
    ]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    if not rows:
        print(
            f"No saved connections ({connections_path()}): save one in the app "
            "(Server ▸ Connect…)."
        )
        return 0
    for row in rows:
        target = row["target"] + (f" {row['attribute']}" if row["attribute"] else "")
        token = "token stored" if row["token_stored"] else "no token stored"
        print(f"{row['name']}: {row['url']} ({target}, match {row['match_attribute']}, {token})")
    return 0


def apply_connection(args: argparse.Namespace, defaults: dict[str, object]) -> None:
    """Fill the connection settings not given as flags: from --connection, else defaults.

    Sets `args.token` (or None) and `args.token_origin` (for messages) too.
    """
    profile = None
    if getattr(args, "connection", None):
        from app.scim.config.connections import find_connection

        profile = find_connection(args.connection)
    for name, default in defaults.items():
        if getattr(args, name, None) in (None, False):
            saved = getattr(profile, name, None) if profile is not None else None
            setattr(args, name, saved if saved not in (None, "") else default)
    if not args.url:
        raise InputError(
            "no server given: pass --url BASE_URL, or --connection NAME for a connection saved "
            "in the app (list them with 'groupmap connections')"
        )
    args.token, args.token_origin = _token(args, profile.name if profile else None)


def _token(args: argparse.Namespace, connection: str | None) -> tuple[str | None, str]:
    if args.token_env is None and connection is not None:
        from app.scim.config.tokens import TokenStore

        stored = TokenStore().get(connection)
        if stored:
            return stored, f"the token stored for connection {connection!r}"
    args.token_env = args.token_env or DEFAULT_TOKEN_ENV
    return os.environ.get(args.token_env) or None, f"the token in ${args.token_env}"
