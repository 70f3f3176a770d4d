"""The `groupmap` command line: the desktop app, and headless preview, rules, sync, apply,
history, undo, connections, sources, serve and demo.

Each command is a module here with `register(add)`; the modules import only argparse and
the standard library at the top, so `groupmap --version` and `--help` answer without loading
pandas, Qt or httpx. Nothing else of GroupMap imports this package (an import contract).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from app import __version__
from app.cli import (
    apply,
    connections,
    demo,
    history,
    preview,
    rules,
    saved_sources,
    serve,
    sync,
)
from app.cli.common import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_CONNECT, EXIT_JOURNAL
from app.core.errors import InputError
from app.sources.errors import SourceError

COMMAND_MODULES = (
    preview, rules, sync, apply, history, connections, saved_sources, serve, demo
)


class OneLineParser(argparse.ArgumentParser):
    """A refused argument is one line that names the option and the fix, as every other
    refusal is; the usage is one `--help` away, not printed above the error."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> tuple[argparse.ArgumentParser, list[str]]:
    """The parser and the command names (a first argument that is none of them is a file)."""
    parser = OneLineParser(
        prog="groupmap",
        description="Map identity-provider values to groups, preview offline, sync over SCIM.",
        epilog="Without a command, opens the desktop app (on FILE: an export or a draft).",
    )
    parser.add_argument("--version", action="version", version=f"groupmap {__version__}")
    # Hidden: open and close the main window on the bundled sample (make package-check).
    parser.add_argument("--smoke-test", action="store_true", help=argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    names: list[str] = []

    def add(name: str, **kwargs: object) -> argparse.ArgumentParser:
        names.append(name)
        return subparsers.add_parser(name, **kwargs)  # type: ignore[arg-type]

    for module in COMMAND_MODULES:
        module.register(add)
    return parser, names


def _open_app(paths: list[str]) -> int:
    from app.ui.shell.app import run_app

    return run_app(paths)


def _stdout_closed() -> int:
    """The reader of stdout is gone (`groupmap preview ... | head -1`): end quietly, as Unix
    tools do, with the status a shell gives a process that SIGPIPE ended. Whatever is left
    for stdout goes to devnull, so the flush at exit does not fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return EXIT_BROKEN_PIPE


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser, commands = build_parser()
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
        from app.ui.shell.smoke import smoke_test

        return smoke_test()
    from app.io.journal import JournalUnwritable

    try:
        status = int(args.run(args))
        sys.stdout.flush()  # a reader gone early shows here, not at exit
        return status
    except BrokenPipeError:
        return _stdout_closed()
    except JournalUnwritable as error:  # raised before the first write: nothing was sent
        print(f"groupmap: error: {error}", file=sys.stderr)
        return EXIT_JOURNAL
    except InputError as error:
        print(f"groupmap: error: {error}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except SourceError as error:  # a live source could not be read: like a server
        print(f"groupmap: error: {error}", file=sys.stderr)
        return EXIT_CONNECT
    except OSError as error:
        print(
            f"groupmap: error: {error.filename or 'a file'}: {error.strerror or error}."
            " Check the path and your permissions.",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
