"""`groupmap rules`: the mapping as identity-provider rules (Entra, Okta, Google), exact or
refused with one line per row saying why; `--approximate` writes the closest rules and
notes what differs (with the users affected, given `--users`)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_BAD_INPUT,
    add_mapping_options,
    check_output_path,
    load_mapping,
    output_file,
)
from app.core.errors import InputError

if TYPE_CHECKING:
    from app.cli.common import AddCommand
    from app.core.idp_rules import Rules

FORMATS = (
    "entra-expression", "okta-expression", "entra-dynamic", "okta-group-rules", "google-dynamic"
)


def register(add: AddCommand) -> None:
    rules = add("rules", help="write the mapping as identity-provider rules, or say why not")
    rules.add_argument("--format", required=True, choices=FORMATS, help="the target's language")
    add_mapping_options(rules, users_required=False)
    rules.add_argument(
        "--attribute", default="department", metavar="NAME",
        help="the identity provider's attribute holding the value (default: department)",
    )
    rules.add_argument(
        "--approximate", action="store_true",
        help="write the closest rules where exact ones are impossible, and note what differs",
    )
    rules.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    rules.add_argument("--out", type=output_file, metavar="FILE",
                       help="write the rules (or the JSON) to FILE")
    rules.set_defaults(run=cmd_rules)


def cmd_rules(args: argparse.Namespace) -> int:
    from app.core.idp_rules import Format, affected_notes, attribute_error, generate

    if args.out:
        check_output_path("--out", args.out, args)
    fmt = Format(args.format)
    problem = attribute_error(fmt, args.attribute)
    if problem:
        raise InputError(problem)
    mapping = load_mapping(args)
    result = generate(mapping, fmt, args.attribute, approximate=args.approximate)
    if result.refusals and not args.approximate:
        print(f"groupmap: no exact {fmt} for this mapping:", file=sys.stderr)
        for refusal in result.refusals:
            print(refusal.line(), file=sys.stderr)
        print("Pass --approximate to write the closest rules with the differences noted.",
              file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.approximate and args.users:
        from app.io import read_users

        users = read_users([Path(p) for p in args.users],
                           source_column=mapping.options.source_column)
        result.notes += affected_notes(result, mapping, users)
    text = json.dumps(result.to_json(), ensure_ascii=False) if args.json else _text(result)
    if args.out:
        from app.io import atomic_write_bytes

        atomic_write_bytes(args.out, (text + "\n").encode("utf-8"))
        print(f"Wrote {args.out}")
    else:
        print(text)
    if args.json:
        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
    return 0


def _text(result: Rules) -> str:
    """The rules for pasting: the expression, or each group's rule under a "# group" line;
    the notes follow, each on a "note:" line."""
    if result.format.per_group:
        body = "\n\n".join(f"# {r.group}\n{r.rule}" for r in result.rules)
    else:
        body = result.expression
    if result.notes and not result.format.per_group:
        body += "\n"
    return body + "".join(f"\nnote: {n}" for n in result.notes)
