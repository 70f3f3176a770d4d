"""`groupmap preview`: where every user lands and why, offline; `--check` for CI."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_FAILED,
    add_mapping_options,
    check_output_option,
    output_file,
)
from app.cli.sources import add_source_options, load_inputs

if TYPE_CHECKING:
    from app.cli.common import AddCommand
    from app.core.mapping import Mapping
    from app.core.warnings import Warning


def register(add: AddCommand) -> None:
    preview = add("preview", help="show where every user lands, offline")
    add_mapping_options(preview, users_required=False)  # or the --connection's saved source
    add_source_options(preview, server=True)
    preview.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    preview.add_argument(
        "--out",
        type=output_file,
        metavar="FILE",
        help="write one row per user to FILE (.xlsx or .csv)",
    )
    preview.add_argument(
        "--check",
        action="store_true",
        help="exit 1 and list the failures if an expectation fails (for CI)",
    )
    preview.set_defaults(run=cmd_preview)


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


def cmd_preview(args: argparse.Namespace) -> int:
    from app.core.engine import evaluate
    from app.core.report import preview_json
    from app.core.warnings import find_warnings

    if args.out:
        check_output_option("--out", args.out, args)
    users, mapping = load_inputs(args)
    evaluation = evaluate(users, mapping)
    warnings = find_warnings(evaluation)
    report = preview_json(evaluation, warnings)
    if getattr(args, "user_source", None) is not None:
        report["source"] = args.user_source.to_json()
    if args.out:
        from app.io import write_preview

        write_preview(Path(args.out), evaluation, warnings)
    failed = [w for w in warnings if w.code == "expectation_failed"]
    status = EXIT_FAILED if args.check and failed else 0
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
        return status
    print(
        f"{report['users']:,} users, {report['unmatched']:,} unmatched, "
        f"{report['changes']:,} would change.\n"
    )
    print(_summary_table(report))
    print(warnings_text(warnings), end="")
    if args.out:
        print(f"\nWrote {args.out}")
    if args.check:
        print(check_summary(mapping, failed), file=sys.stderr if failed else sys.stdout)
    return status


def warnings_text(warnings: list[Warning]) -> str:
    """Errors and warnings (an error marked so), then the notes: what GroupMap does with what
    the admin chose (severity info)."""
    serious = [w for w in warnings if w.severity != "info"]
    notes = [w for w in warnings if w.severity == "info"]
    text = ""
    if serious:
        text += f"\n{len(serious)} warning(s):\n"
        text += "".join(
            f"- {'error: ' if w.severity == 'error' else ''}{w.message}\n" for w in serious
        )
    if notes:
        text += f"\n{len(notes)} note(s):\n" + "".join(f"- {w.message}\n" for w in notes)
    return text


def check_summary(mapping: Mapping, failed: list[Warning]) -> str:
    """The verdict of `preview --check`: every failed expectation, or that all passed."""
    total = len(mapping.expectations)
    if not failed:
        return f"\nAll {total} expectation(s) pass." if total else "\nNo expectations to check."
    lines = [f"\n{len(failed)} of {total} expectation(s) fail:"]
    lines += [f"  FAIL {w.message}" for w in failed]
    return "\n".join(lines)


