"""What the commands share: exit statuses, the input and matching options, reading the
inputs, and checking and writing an output file (a report) in one line on failure."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.errors import InputError

if TYPE_CHECKING:  # pandas and the engine load only for a command that needs them
    from app.core.mapping import Mapping
    from app.core.users import UserList

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CONNECT = 0, 1, 2, 3
EXIT_CANCELLED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: stdout's reader went away (`| head -1`)
# The journal could not be written: 4 before anything reached the server, 5 after some writes
# (each of them journaled, intent first); nothing more was sent either way.
EXIT_JOURNAL, EXIT_JOURNAL_PARTIAL = 4, 5

AddCommand = Callable[..., argparse.ArgumentParser]
"""Adds a command's parser: `add(name, help=...)`, as argparse's add_parser."""


def add_mapping_options(parser: argparse.ArgumentParser, users_required: bool = True) -> None:
    """The inputs and matching options shared by preview and sync; they override a draft's."""
    parser.add_argument(
        "--users",
        action="append",
        required=users_required,
        default=[],
        metavar="FILE",
        help="exported user list (.xlsx, .xlsm, .csv); repeat to combine active and pending; "
        "or a live source: scim:ATTRIBUTE, entra:ATTRIBUTE, okta:ATTRIBUTE (default: the "
        "--connection's saved source)",
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


def add_result_options(parser: argparse.ArgumentParser) -> None:
    """What a command that writes prints and saves: one JSON object, a per-user report."""
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.add_argument("--report", type=output_file, metavar="FILE",
                        help="write one row per user (.csv or .xlsx)")


def output_file(text: str) -> str:
    """The type of every output option (--out, --report, --plan-out): a name that ends like a
    folder's (`x.csv/`) is refused as it is parsed, before anything is read."""
    from app.io.writers import refuse_folder_name

    try:
        refuse_folder_name(text)
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from error
    return text


def removal_ratio(text: str) -> float:
    """A share of memberships from 0 to 1 (for --max-removal-ratio)."""
    from app.cli.pacing import number

    return number(text, "is not a ratio: give a share from 0 to 1, e.g. 0.2 for 20%",
                  above=False, most=1.0)


def add_removal_guard_options(parser: argparse.ArgumentParser, allow_help: str) -> None:
    """The mass-removal guard of a command that may remove memberships."""
    parser.add_argument(
        "--max-removal-ratio",
        type=removal_ratio,
        default=0.2,
        metavar="R",
        help="stop if more than R of the current memberships would go (default 0.2)",
    )
    parser.add_argument("--allow-mass-removal", action="store_true", help=allow_help)


OPTION_NAMES = (
    "source_column",
    "default_group",
    "ignore_case",
    "separator",
    "multiple_groups",
    "apply_existing",
)


def load_mapping(args: argparse.Namespace) -> Mapping:
    """Read the mapping (or draft), command-line options winning over a draft's."""
    from app.io import read_mapping

    mapping = read_mapping(Path(args.mapping))
    given = {name: getattr(args, name) for name in OPTION_NAMES if getattr(args, name) is not None}
    if given:
        mapping = mapping.with_options(**given)
    if args.expect:
        from app.io.expectfile import read_expectations

        added = [e for path in args.expect for e in read_expectations(Path(path))]
        mapping = mapping.with_expectations(mapping.expectations + tuple(added))
    return mapping


def load_inputs(args: argparse.Namespace) -> tuple[UserList, Mapping]:
    """Read the mapping (or draft) and the exports, command-line options winning over a draft's."""
    from app.io import read_users

    mapping = load_mapping(args)
    users = read_users([Path(p) for p in args.users], source_column=mapping.options.source_column)
    return users, mapping


def refuse_failed_expectations(users: UserList, mapping: Mapping) -> None:
    """`groupmap sync` writes nothing while an expectation fails (InputError listing them)."""
    from app.scim.sync.guards import expectations_stop

    stop = expectations_stop(users, mapping)
    if stop:
        raise InputError(stop)


def input_paths(args: argparse.Namespace) -> list[str]:
    """Every file a command reads: the exports, the mapping or draft, the expectations, a plan."""
    paths = list(getattr(args, "users", None) or []) + list(getattr(args, "expect", None) or [])
    return paths + [path for name in ("mapping", "plan") if (path := getattr(args, name, None))]


def check_output_option(option: str, path: str, args: argparse.Namespace,
                        table: bool = True) -> None:
    """Refuse `--out`/`--report` before any work: a type GroupMap cannot write (.pdf), a file
    that is one of the command's inputs, a link, or a folder where a temporary file cannot be
    created and removed (missing, read-only). Every command's outputs pass here."""
    from app.io import check_output

    try:
        check_output(path, input_paths(args), table)
    except InputError as error:
        raise InputError(f"{option} {error}") from error


def check_output_path(option: str, path: str, args: argparse.Namespace) -> None:
    """An output that is not a table (`--plan-out`, the rules' `--out`): every check but the
    table's type."""
    check_output_option(option, path, args, table=False)


def check_plan_out(path: str, args: argparse.Namespace) -> None:
    """`--plan-out` must not overwrite an input."""
    check_output_path("--plan-out", path, args)


def check_report_path(path: str, args: argparse.Namespace) -> None:
    """Refuse a report that cannot be written before the sync writes anything, not after: its
    type, an input, and a temporary file created and removed beside it."""
    check_output_option("--report", path, args)


def write_report(path: str | None, frame: object, status: int) -> int:
    """Write the report last, after the summary and failures: if it fails (a disk filled up
    during the sync), say so in one line and keep the sync's own exit status."""
    from app.io import write_table

    if path:
        try:
            write_table(Path(path), frame)
        except InputError as error:
            print(f"groupmap: error: --report {error} The sync itself is done (summary above).",
                  file=sys.stderr)
    return status


def journal_failure(result: Any) -> int:
    """The run's journal became unwritable mid-run: say so in one line; the exit status."""
    written = "nothing reached the server" if result.nothing_written else (
        "what was written before is journaled, so history and undo see it"
    )
    print(f"groupmap: error: {result.journal_error} ({written})", file=sys.stderr)
    return EXIT_JOURNAL if result.nothing_written else EXIT_JOURNAL_PARTIAL


def print_result(result: Any) -> None:
    """The one-line summary of a sync, an apply or an undo."""
    data = result.to_json()
    print(
        f"Created {len(data['created_groups'])} group(s), added {data['added']}, "
        f"removed {data['removed']}, unchanged {data['unchanged']}, "
        f"not found {data['not_found']}, failed {data['failed']}, "
        f"not kept {data['not_kept']}, drift {data['drift']}, "
        f"{data['requests']} request(s)."
    )
