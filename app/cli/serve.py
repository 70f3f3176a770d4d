"""`groupmap serve`: a local SCIM 2.0 server (scim2-server) to rehearse a sync on."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import EXIT_BAD_INPUT, EXIT_OK
from app.cli.pacing import count

if TYPE_CHECKING:
    from app.cli.common import AddCommand


def register(add: AddCommand) -> None:
    serve = add("serve", help="run a local SCIM 2.0 server to rehearse a sync")
    serve.add_argument(
        "--port",
        type=count("is not a port: give a whole number from 0 to 65535", least=0, most=65535),
        default=8080,
        help="port on 127.0.0.1 (default 8080)",
    )
    serve.add_argument(
        "--users",
        action="append",
        metavar="FILE",
        help="seed with an export's users and their current groups",
    )
    serve.add_argument("--token", metavar="T", help="require this bearer token")
    serve.set_defaults(run=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> int:
    from app.scim.server import LocalScimServer

    users = None
    if args.users:
        from app.io import read_users

        users = read_users([Path(p) for p in args.users])
    server = LocalScimServer(users, token=args.token, port=args.port)
    server.freeze_seed()
    try:
        url = server.start()
    except OSError as error:
        print(
            f"groupmap: error: cannot listen on 127.0.0.1:{args.port}: {error.strerror}. "
            "Pick another --port (0 picks a free one).",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    seeded = f"{len(users):,} users from the export" if users is not None else "empty"
    auth = "bearer token required" if args.token else "no token required"
    print(f"Serving SCIM on {url} ({seeded}; {auth}). Press Ctrl+C to stop.", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
    return EXIT_OK
