"""`groupmap demo`: the app on the bundled sample, connected to a local SCIM server."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.cli.common import AddCommand


def register(add: AddCommand) -> None:
    demo = add("demo", help="open the app on the bundled sample, connected to a local SCIM server")
    demo.add_argument(
        "--headless", action="store_true", help="run refresh, preview and sync offscreen, print"
    )
    demo.set_defaults(run=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from app.ui.shell.demo import run_demo

    return run_demo(headless=args.headless)


