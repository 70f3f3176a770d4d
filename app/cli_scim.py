"""`groupmap sync` and `groupmap serve`: registered on the main parser by app/cli.py.

Exit status of sync: 0 everything applied; 1 some operations failed (each listed);
2 bad input (including the mass-removal guard); 3 could not connect or authenticate.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CONNECT = 0, 1, 2, 3
REQUEST_DEADLINE, MAX_RESPONSE_MB = 120.0, 64.0  # as app.scim.transport (not imported: startup)


def add_scim_commands(commands: argparse._SubParsersAction) -> None:
    from app.cli import add_mapping_options
    from app.cli_apply import add_apply_command
    from app.cli_connections import add_connection_option, add_connections_command
    from app.scim.settings import MATCH_ATTRIBUTES, TARGETS

    sync = commands.add_parser(
        "sync", help="make a SCIM service provider's group memberships match the mapping"
    )
    add_mapping_options(sync)
    sync.add_argument("--url", metavar="BASE_URL", help="SCIM base URL")
    add_connection_option(sync)
    sync.add_argument(
        "--token-env",
        metavar="VAR",
        help="environment variable holding the bearer token (default GROUPMAP_TOKEN)",
    )
    sync.add_argument(
        "--match-attribute",
        choices=list(MATCH_ATTRIBUTES),
        help="SCIM user attribute that holds the export's email (default userName)",
    )
    sync.add_argument(
        "--batch-size",
        type=int,
        default=100,
        metavar="N",
        help="membership changes per request (default 100)",
    )
    sync.add_argument(
        "--concurrency", type=int, default=4, metavar="N", help="groups written at once (default 4)"
    )
    sync.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    sync.add_argument(
        "--plan-out",
        metavar="FILE",
        help="with --dry-run: save the plan for approval (apply it with 'groupmap apply')",
    )
    sync.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    sync.add_argument("--report", metavar="FILE", help="write one row per user (.csv or .xlsx)")
    sync.add_argument(
        "--max-removal-ratio",
        type=float,
        default=0.2,
        metavar="R",
        help="stop if more than R of the current memberships would go (default 0.2)",
    )
    sync.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="apply the plan even above --max-removal-ratio",
    )
    sync.add_argument(
        "--target",
        choices=list(TARGETS),
        help="write group memberships, or a user attribute (no /Groups)",
    )
    sync.add_argument(
        "--attribute",
        metavar="PATH",
        help="user attribute for --target attribute, e.g. "
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    )
    sync.add_argument(
        "--ignore-expectations",
        action="store_true",
        help="write even while an expectation of the mapping fails",
    )
    sync.add_argument(
        "--insecure-http",
        action="store_true",
        help="allow plain http to a host other than this machine",
    )
    sync.add_argument(
        "--request-deadline",
        type=float,
        default=REQUEST_DEADLINE,
        metavar="SECONDS",
        help="longest one request may take, answer included (default 120)",
    )
    sync.add_argument(
        "--max-response-mb",
        type=float,
        default=MAX_RESPONSE_MB,
        metavar="MB",
        help="largest answer read from the server (default 64)",
    )
    sync.set_defaults(run=cmd_sync)
    from app.cli_journal import add_journal_commands, add_sync_trust_options

    add_sync_trust_options(sync)
    add_journal_commands(commands)

    serve = commands.add_parser("serve", help="run a local SCIM 2.0 server to rehearse a sync")
    serve.add_argument("--port", type=int, default=8080, help="port on 127.0.0.1 (default 8080)")
    serve.add_argument(
        "--users",
        action="append",
        metavar="FILE",
        help="seed with an export's users and their current groups",
    )
    serve.add_argument("--token", metavar="T", help="require this bearer token")
    serve.set_defaults(run=cmd_serve)
    add_connections_command(commands)
    add_apply_command(commands)


CONNECTION_DEFAULTS = {
    "url": None,
    "target": "groups",
    "attribute": None,
    "match_attribute": "userName",
    "insecure_http": False,
}


def _print_result(result) -> None:
    data = result.to_json()
    print(
        f"Created {len(data['created_groups'])} group(s), added {data['added']}, "
        f"removed {data['removed']}, unchanged {data['unchanged']}, "
        f"not found {data['not_found']}, failed {data['failed']}, "
        f"not kept {data['not_kept']}, drift {data['drift']}, "
        f"{data['requests']} request(s)."
    )


def _plan_json(plan, requests: int) -> dict:
    return {
        "dry_run": True,
        "created_groups": list(plan.groups_to_create),
        "added": plan.added_count,
        "removed": plan.removed_count,
        "unchanged": plan.unchanged_count,
        "not_found": len(plan.not_found),
        "failed": 0,
        "not_kept": 0,
        "requests": requests,
        "drift": len(plan.drift),
    }


def cmd_sync(args: argparse.Namespace) -> int:
    from app.cli import load_inputs, refuse_failed_expectations
    from app.cli_connections import apply_connection
    from app.core.errors import InputError
    from app.scim.client import ScimClient
    from app.scim.errors import BadAnswer, ScimError
    from app.scim.record import (
        RunJournal,
        applied_since,
        discount_own_changes,
        export_time,
        source_guard_message,
    )
    from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state

    apply_connection(args, CONNECTION_DEFAULTS)
    token = args.token
    settings = SyncSettings(
        url=args.url,
        token=token,
        match_attribute=args.match_attribute,
        batch_size=args.batch_size,
        concurrency=args.concurrency,
        target=args.target,
        attribute=args.attribute,
        max_removal_ratio=args.max_removal_ratio,
        allow_mass_removal=args.allow_mass_removal,
        insecure_http=args.insecure_http,
    )
    if args.report:
        _check_report_path(args.report)
    users, mapping = load_inputs(args)
    if args.plan_out and not args.dry_run:
        raise InputError("--plan-out saves a plan for approval: use it with --dry-run")
    if (not args.dry_run or args.plan_out) and not args.ignore_expectations:
        refuse_failed_expectations(users, mapping)  # a saved plan is there to be applied
    out = sys.stderr if args.json else sys.stdout
    if args.request_deadline <= 0 or args.max_response_mb <= 0:
        raise InputError("--request-deadline and --max-response-mb must be more than 0")
    with ScimClient(
        settings.url,
        token,
        insecure_http=settings.insecure_http,
        request_deadline=args.request_deadline,
        max_response_mb=args.max_response_mb,
    ) as client:
        try:
            state = read_server_state(client, users, mapping, settings)
        except BadAnswer as error:  # it names the server, the request and the field
            print(f"groupmap: error: {error}; nothing was written.", file=sys.stderr)
            return EXIT_CONNECT
        except ScimError as error:
            print(
                f"groupmap: error: could not read {client.base_url}: {error}. Check the URL, "
                f"{args.token_origin} and the network; nothing was written.",
                file=sys.stderr,
            )
            return EXIT_CONNECT
        plan = plan_sync(users, mapping, state, settings)
        own = applied_since(settings.url, export_time(args.users))  # placed by this app: no drift
        plan.drift = discount_own_changes(plan.drift, own, state.managed)
        guard = "" if args.allow_source_change else source_guard_message(settings.url, users)
        if args.dry_run:
            print(plan.describe(), file=out)
            for message in (plan.mass_removal_message() if plan.blocked else "", guard):
                if message:
                    print(message, file=out)
            dry = RunJournal.begin(plan, settings, mapping, args.users, dry_run=True)
            dry.finish(None, "dry run")
            summary = _plan_json(plan, client.request_count)
            if args.plan_out:
                from app.scim.planfile import save_plan

                saved = save_plan(Path(args.plan_out), plan, mapping, args.users)
                print(f"Saved {saved.summary()} to {args.plan_out}", file=out)
            if args.json:
                print(json.dumps(summary, ensure_ascii=False))
            return _write_report(args.report, plan.to_frame(), EXIT_OK)
        if plan.blocked:
            raise InputError(plan.mass_removal_message())
        if guard:
            raise InputError(guard)
        journal = RunJournal.begin(plan, settings, mapping, args.users)
        result = execute(client, plan, settings, journal=journal, verify=not args.no_verify)
        journal.finish(result)
    return finish_sync(args, result)


def finish_sync(args: argparse.Namespace, result) -> int:
    """After the writes (sync and apply): summary, failures, report last, and the exit status."""
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False))
    else:
        _print_result(result)
        for email in result.not_found:
            print(f"  not found on the server (not created): {email}")
    for line in result.describe_failures():
        print(f"groupmap: failed: {line}", file=sys.stderr)
    for line in result.unverified:  # written, but not checked: a new dry run shows the state
        print(f"groupmap: warning: {line}", file=sys.stderr)
    status = EXIT_FAILED if result.failed or result.not_kept else EXIT_OK
    if result.failed and result.nothing_written and result.refused_access:
        print(
            "groupmap: error: the server refused every write (authentication or connection); "
            f"nothing was written. Check that {args.token_origin} may write.",
            file=sys.stderr,
        )
        status = EXIT_CONNECT
    return _write_report(args.report, result.report_frame(), status)


def _check_report_path(path: str) -> None:
    """Refuse a report that cannot be written before the sync writes anything, not after: its
    type, and a temporary file created and removed beside it (missing or read-only folder)."""
    from app.cli import check_output_option

    check_output_option("--report", path)


def _write_report(path: str | None, frame, status: int) -> int:
    """Write the report last, after the summary and failures: if it fails (a disk filled up
    during the sync), say so in one line and keep the sync's own exit status."""
    from app.core.errors import InputError
    from app.io import write_table

    if path:
        try:
            write_table(Path(path), frame)
        except InputError as error:
            print(f"groupmap: error: --report {error} The sync itself is done (summary above).",
                  file=sys.stderr)
    return status


def cmd_serve(args: argparse.Namespace) -> int:
    from app.scim.server import LocalScimServer

    users = None
    if args.users:
        from app.io import read_users

        users = read_users([Path(p) for p in args.users])
    server = LocalScimServer(users, token=args.token, port=args.port)
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
