"""The `groupmap` command line: the desktop app, and headless preview, sync and serve."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app import __version__
from app.core.errors import InputError

if TYPE_CHECKING:  # pandas and the engine load only for a command that needs them
    from app.core.mapping import Mapping
    from app.core.users import UserList
    from app.core.warnings import Warning

EXIT_EXPECTATION_FAILED = 1
EXIT_BAD_INPUT = 2


def add_mapping_options(parser: argparse.ArgumentParser) -> None:
    """The inputs and matching options shared by preview and sync; they override a draft's."""
    parser.add_argument(
        "--users",
        action="append",
        required=True,
        metavar="FILE",
        help="exported user list (.xlsx, .xlsm, .csv); repeat to combine active and pending",
    )
    parser.add_argument(
        "--mapping",
        required=True,
        metavar="FILE",
        help="mapping table (.csv, .xlsx) or draft (.json)",
    )
    parser.add_argument(
        "--source-column",
        metavar="NAME",
        help='column holding the value to map (default "Identity Provider Group")',
    )
    parser.add_argument("--default-group", metavar="NAME", help="group for users that match no row")
    parser.add_argument(
        "--ignore-case",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="compare values without regard to case (default: case-sensitive)",
    )
    parser.add_argument(
        "--separator", metavar="S", help='split cells into several values at S, for example ";"'
    )
    parser.add_argument(
        "--multiple-groups",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="give users the groups of every matching row, not only the first",
    )
    parser.add_argument(
        "--apply-existing",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="move users who are already in a group, too",
    )
    parser.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="FILE",
        help='expectations (.csv, .xlsx: "Email or value", "Expected group"), added to the'
        " draft's; repeatable",
    )


OPTION_NAMES = (
    "source_column",
    "default_group",
    "ignore_case",
    "separator",
    "multiple_groups",
    "apply_existing",
)


def load_inputs(args: argparse.Namespace) -> tuple[UserList, Mapping]:
    """Read the mapping (or draft) and the exports, command-line options winning over a draft's."""
    from app.io import read_mapping, read_users

    mapping = read_mapping(Path(args.mapping))
    given = {name: getattr(args, name) for name in OPTION_NAMES if getattr(args, name) is not None}
    if given:
        mapping = mapping.with_options(**given)
    if args.expect:
        from app.io.expectfile import read_expectations

        added = [e for path in args.expect for e in read_expectations(Path(path))]
        mapping = mapping.with_expectations(mapping.expectations + tuple(added))
    users = read_users([Path(p) for p in args.users], source_column=mapping.options.source_column)
    return users, mapping


def refuse_failed_expectations(users: UserList, mapping: Mapping) -> None:
    """`groupmap sync` writes nothing while an expectation fails (InputError listing them)."""
    from app.core.engine import evaluate
    from app.core.expectations import failures

    if not mapping.expectations:
        return
    failed = failures(evaluate(users, mapping))
    if failed:
        listed = "\n".join(f"  FAIL {outcome.message}" for outcome in failed)
        raise InputError(
            f"{len(failed)} expectation(s) of the mapping fail, so nothing was written:\n"
            f"{listed}\nFix the mapping (or the expectations), or pass --ignore-expectations."
        )


def _summary_table(report: dict) -> str:
    headers = ["group", "before", "after", "added", "removed", "new"]
    rows = [
        [
            g["name"],
            str(g["before"]),
            str(g["after"]),
            f"+{g['added']}",
            f"-{g['removed']}",
            "new" if g["new"] else "",
        ]
        for g in report["groups"]
    ]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out)


def check_output_option(option: str, path: str) -> None:
    """Refuse `--out`/`--report` before any work: a type GroupMap cannot write (.pdf), or a
    folder where a temporary file cannot be created and removed (missing, read-only)."""
    from app.io import check_output

    try:
        check_output(path)
    except InputError as error:
        raise InputError(f"{option} {error}") from error


def cmd_preview(args: argparse.Namespace) -> int:
    from app.core.engine import evaluate
    from app.core.report import preview_json
    from app.core.warnings import find_warnings

    if args.out:
        check_output_option("--out", args.out)
    users, mapping = load_inputs(args)
    evaluation = evaluate(users, mapping)
    warnings = find_warnings(evaluation)
    report = preview_json(evaluation, warnings)
    if args.out:
        from app.io import write_preview

        write_preview(Path(args.out), evaluation, warnings)
    failed = [w for w in warnings if w.code == "expectation_failed"]
    status = EXIT_EXPECTATION_FAILED if args.check and failed else 0
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return status
    print(
        f"{report['users']:,} users, {report['unmatched']:,} unmatched, "
        f"{report['changes']:,} would change.\n"
    )
    print(_summary_table(report))
    if warnings:
        print(f"\n{len(warnings)} warning(s):")
        for w in warnings:
            print(f"- {w.message}")
    if args.out:
        print(f"\nWrote {args.out}")
    if args.check:
        print(check_summary(mapping, failed), file=sys.stderr if failed else sys.stdout)
    return status


def check_summary(mapping: Mapping, failed: list[Warning]) -> str:
    """The verdict of `preview --check`: every failed expectation, or that all passed."""
    total = len(mapping.expectations)
    if not failed:
        return f"\nAll {total} expectation(s) pass." if total else "\nNo expectations to check."
    lines = [f"\n{len(failed)} of {total} expectation(s) fail:"]
    lines += [f"  FAIL {w.message}" for w in failed]
    return "\n".join(lines)


def cmd_demo(args: argparse.Namespace) -> int:
    from app.ui.demo import run_demo

    return run_demo(headless=args.headless)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="groupmap",
        description="Map identity-provider values to groups, preview offline, sync over SCIM.",
        epilog="Without a command, opens the desktop app (on FILE: an export or a draft).",
    )
    parser.add_argument("--version", action="version", version=f"groupmap {__version__}")
    # Hidden: open and close the main window on the bundled sample (make package-check).
    parser.add_argument("--smoke-test", action="store_true", help=argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    preview = commands.add_parser("preview", help="show where every user lands, offline")
    add_mapping_options(preview)
    preview.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    preview.add_argument(
        "--out", metavar="FILE", help="write one row per user to FILE (.xlsx or .csv)"
    )
    preview.add_argument(
        "--check",
        action="store_true",
        help="exit 1 and list the failures if an expectation fails (for CI)",
    )
    preview.set_defaults(run=cmd_preview)

    demo = commands.add_parser(
        "demo", help="open the app on the bundled sample, connected to a local SCIM server"
    )
    demo.add_argument(
        "--headless", action="store_true", help="run refresh, preview and sync offscreen, print"
    )
    demo.set_defaults(run=cmd_demo)

    from app.cli_scim import add_scim_commands

    add_scim_commands(commands)
    return parser


def _command_names(parser: argparse.ArgumentParser) -> set[str]:
    return {
        name
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name in action.choices
    }


def _open_app(paths: list[str]) -> int:
    from app.ui.app import run_app

    return run_app(paths)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser()
    commands = _command_names(parser)
    if not argv or (argv[0] not in commands and not argv[0].startswith("-")):
        missing = [path for path in argv if not Path(path).exists()]
        if missing:
            parser.error(
                f"{missing[0]!r} is neither a command ({', '.join(sorted(commands))})"
                " nor a file to open"
            )
        return _open_app(argv)
    args = parser.parse_args(argv)
    if args.smoke_test:
        from app.ui.smoke import smoke_test

        return smoke_test()
    try:
        return args.run(args)
    except InputError as error:
        print(f"groupmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as error:
        print(
            f"groupmap: error: {error.filename or 'a file'}: {error.strerror or error}."
            " Check the path and your permissions.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
