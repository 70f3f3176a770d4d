"""`groupmap history` and `groupmap undo`.

Exit status of undo is that of sync: 0 done, 1 some operations failed or were not kept, 2 bad
input (unknown run, guard), 3 could not connect.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

from app.cli.common import EXIT_CANCELLED, EXIT_CONNECT, EXIT_FAILED, EXIT_OK
from app.cli.notify import add_notify_option, notifying
from app.cli.pacing import (
    CANCELLED_WHILE_READING,
    add_pacing_options,
    count,
    ctrl_c_cancels,
    pacing_from_args,
)

if TYPE_CHECKING:
    from app.cli.common import AddCommand

RUN_NUMBER = count("is not a run number: give a whole number from groupmap history, e.g. 3")


def register(add: AddCommand) -> None:
    from app.cli.common import add_removal_guard_options, add_result_options
    from app.cli.connections import add_connection_option, add_server_options

    history = add("history", help="list the journaled runs, or show one")
    history.add_argument(
        "run_id", nargs="?", type=RUN_NUMBER, metavar="RUN", help="show this run"
    )
    history.add_argument("--url", metavar="BASE_URL", help="only runs to this SCIM server")
    add_connection_option(history)
    history.add_argument("--user", metavar="EMAIL", help="one user's placements across runs")
    history.add_argument("--json", action="store_true", help="print JSON on stdout")
    history.set_defaults(run=cmd_history)

    undo = add("undo", help="revert what one journaled sync applied")
    undo.add_argument(
        "run_id", type=RUN_NUMBER, metavar="RUN", help="the run to undo (see history)"
    )
    add_server_options(undo, "SCIM base URL (the run's server)")
    add_result_options(undo)
    undo.add_argument("--dry-run", action="store_true", help="print the inverse plan only")
    undo.add_argument(
        "--delete-created-groups",
        action="store_true",
        help="delete the groups the run created, if they are empty after the undo",
    )
    add_removal_guard_options(undo, "undo even above --max-removal-ratio")
    undo.add_argument("--no-verify", action="store_true", help="skip the read-back")
    add_pacing_options(undo)
    add_notify_option(undo)
    undo.set_defaults(run=notifying(cmd_undo))


# --- history --------------------------------------------------------------------------------


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(line.rstrip() for line in lines)


def cmd_history(args: argparse.Namespace) -> int:
    from app.io.journal import find_run, journal_dir, read_runs
    from app.io.journal_text import describe_op, describe_placement, describe_reads, user_placements
    from app.io.journal_text import when as _when
    from app.scim.http.redact import redact_url

    if args.connection and not args.url:  # the runs to that saved connection's server
        from app.scim.config.connections import find_connection

        args.url = find_connection(args.connection).url
    if args.run_id is not None:
        runs = [find_run(args.run_id)]
        problems = runs[0].problems
    else:
        runs, problems = read_runs(args.url)
    for problem in problems:  # a malformed record is named and skipped, never a traceback
        print(f"groupmap: warning: journal: {problem}", file=sys.stderr)
    if args.user:
        placements = user_placements(runs, args.user)
        if args.json:
            print(json.dumps(placements, ensure_ascii=False))
        elif not placements:
            print(f"No journaled change for {args.user}.")
        else:
            print("\n".join(describe_placement(p) for p in placements))
        return EXIT_OK
    if args.run_id is not None:
        run = runs[0]
        if args.json:
            data = {**run.summary(), "plan": run.plan, "ops": run.ops, "verify": run.verify,
                    "reads": run.reads}
            print(json.dumps(data, ensure_ascii=False))
            return EXIT_OK
        s = run.summary()
        print(f"Run {s['run']}: {s['mode']} to {s['server']} by {s['user'] or 'unknown'}")
        print(f"Started {_when(s['started'])}, {s['status']}" + (
            f" {_when(s['ended'])}" if s["ended"] else ""
        ))
        source = run.source_text()
        print(source[0].upper() + source[1:])
        print(f"Added {s['added']}, removed {s['removed']}, failed or not kept {s['failed']}.")
        if run.reads is not None:
            print(describe_reads(run.reads))
        for op in run.ops:
            print("  " + describe_op(op))
        for op, group, email in run.unresolved():
            print(f"  {op} {group} {email}: sent, no answer recorded (the run was interrupted); "
                  "undo reads the server to tell whether it happened")
        return EXIT_OK
    summaries = [r.summary() for r in runs]
    if args.json:
        print(json.dumps(summaries, ensure_ascii=False))
        return EXIT_OK
    if not summaries:
        where = f" to {redact_url(args.url)}" if args.url else ""
        print(f"No runs{where} in the journal ({journal_dir()}).")
        return EXIT_OK
    headers = ["run", "when", "server", "mode", "status", "added", "removed", "failed", "by"]
    rows = [
        [
            str(s["run"]),
            _when(s["started"]),
            s["server"],
            s["mode"],
            s["status"],
            str(s["added"]),
            str(s["removed"]),
            str(s["failed"]),
            s["user"],
        ]
        for s in summaries
    ]
    print(_table(rows, headers))
    return EXIT_OK


# --- undo -----------------------------------------------------------------------------------


def cmd_undo(args: argparse.Namespace) -> int:
    from app.cli.common import check_report_path, journal_failure, print_result, write_report
    from app.cli.connections import apply_connection
    from app.core.errors import InputError
    from app.io.journal import find_run, list_runs
    from app.scim.config.settings import SyncSettings
    from app.scim.http.client import ScimClient
    from app.scim.http.errors import ScimError
    from app.scim.http.pacing import RateLimiter
    from app.scim.sync.record import RunJournal
    from app.scim.sync.undo import apply_undo, plan_undo

    defaults = {
        "url": None,
        "insecure_http": False,
        "vendor": "generic",
        "max_rate": None,
        "max_changes_per_hour": None,
        "notify": None,  # --notify, else the saved connection's webhook
    }
    apply_connection(args, defaults)
    token = args.token
    settings = SyncSettings(
        url=args.url,
        token=token,
        max_removal_ratio=args.max_removal_ratio,
        allow_mass_removal=args.allow_mass_removal,
        insecure_http=args.insecure_http,
        deadline=args.deadline,
        **pacing_from_args(args),
    )
    run = find_run(args.run_id)
    if args.report:
        check_report_path(args.report, args)
    out = sys.stderr if args.json else sys.stdout
    limiter = RateLimiter(settings.max_rate, settings.deadline)  # paced like a sync
    with (
        ctrl_c_cancels(out) as cancel,
        ScimClient(
            settings.url,
            token,
            insecure_http=settings.insecure_http,
            limiter=limiter,
            page_size=settings.page_size,
        ) as client,
    ):
        limiter.cancelled = cancel.is_set
        try:
            undo = plan_undo(client, run, settings, later=list_runs(run.url))
        except ScimError as error:
            if cancel.is_set():
                print(CANCELLED_WHILE_READING, file=sys.stderr)
                return EXIT_CANCELLED
            print(
                f"groupmap: error: could not read {client.base_url}: {error}. Check the URL, "
                f"{args.token_origin} and the network; nothing was written.",
                file=sys.stderr,
            )
            return EXIT_CONNECT
        plan = undo.plan
        if args.dry_run:
            print(undo.describe(), file=out)
            if plan.blocked:
                print(plan.mass_removal_message(), file=out)
            journal = RunJournal.begin(
                plan, settings, None, [], dry_run=True, undoes=run.run_id, counted=False
            )
            journal.finish(None, "dry run")
            if args.json:
                summary = {
                    "dry_run": True,
                    "added": plan.added_count,
                    "removed": plan.removed_count,
                    **undo.to_json(),
                }
                print(json.dumps(summary, ensure_ascii=False))
            return write_report(args.report, plan.to_frame(), EXIT_OK)
        if plan.blocked:
            raise InputError(plan.mass_removal_message())
        result, journal, deleted = apply_undo(
            client,
            undo,
            settings,
            cancelled=cancel.is_set,
            delete_created_groups=args.delete_created_groups,
            verify=not args.no_verify,
        )
    args.summary = {**result.to_json(), "run": journal.run_id}  # for --notify
    if args.json:
        data = {**result.to_json(), **undo.to_json(), "run": journal.run_id}
        data["deleted_groups"] = deleted
        print(json.dumps(data, ensure_ascii=False))
    else:
        print(f"Undo of run {run.run_id} (journaled as run {journal.run_id}):")
        print_result(result)
        for item in undo.left_as_is:
            print(f"  {item.describe()}")
        for name in deleted:
            print(f"  deleted the empty group {name}, created by run {run.run_id}")
    for line in result.describe_failures():
        print(f"groupmap: failed: {line}", file=sys.stderr)
    for line in result.unverified:
        print(f"groupmap: warning: {line}", file=sys.stderr)
    status = EXIT_FAILED if result.failed or result.not_kept else EXIT_OK
    if result.journal_error:
        status = journal_failure(result)
    elif result.cancelled:
        print(
            f"groupmap: cancelled (Ctrl-C) between requests; what was undone is counted above. "
            f"Run 'groupmap undo {run.run_id}' again to finish: it reverts only what is still "
            "as the run left it.",
            file=sys.stderr,
        )
        status = EXIT_CANCELLED
    return write_report(args.report, result.report_frame(), status)
