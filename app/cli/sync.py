"""`groupmap sync`: make a SCIM service provider's group memberships match the mapping.

Exit status of sync: 0 everything applied; 1 some operations failed (each listed);
2 bad input (including the mass-removal guard); 3 could not connect or authenticate;
130 cancelled with Ctrl-C between requests (run it again to finish).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.common import (
    EXIT_CANCELLED,
    EXIT_CONNECT,
    EXIT_FAILED,
    EXIT_OK,
    add_mapping_options,
    add_removal_guard_options,
    add_result_options,
    check_plan_out,
    check_report_path,
    journal_failure,
    output_file,
    print_result,
    refuse_failed_expectations,
    write_report,
)
from app.cli.connections import add_server_options, apply_connection
from app.cli.notify import add_notify_option, notifying
from app.cli.pacing import (
    CANCELLED_WHILE_READING,
    add_pacing_options,
    amount,
    count,
    ctrl_c_cancels,
    pacing_from_args,
)
from app.cli.sources import add_source_options, load_inputs

if TYPE_CHECKING:
    from app.cli.common import AddCommand
# as app.scim.http.transport (not imported: startup)
REQUEST_DEADLINE, MAX_RESPONSE_MB = 120.0, 64.0


def add_sync_trust_options(sync: argparse.ArgumentParser) -> None:
    sync.add_argument(
        "--no-verify",
        action="store_true",
        help="skip reading the changed groups back after the writes",
    )
    sync.add_argument(
        "--allow-source-change",
        action="store_true",
        help="sync even if the export has far fewer users, or far more blank source values, "
        "than the last sync to this server used",
    )


def register(add: AddCommand) -> None:
    from app.scim.config.settings import MATCH_ATTRIBUTES, TARGETS

    sync = add(
        "sync", help="make a SCIM service provider's group memberships match the mapping"
    )
    add_mapping_options(sync, users_required=False)  # or the --connection's saved source
    add_source_options(sync, server=False)
    add_server_options(sync, "SCIM base URL")
    add_result_options(sync)
    sync.add_argument(
        "--match-attribute",
        choices=list(MATCH_ATTRIBUTES),
        help="SCIM user attribute that holds the export's email (default userName)",
    )
    sync.add_argument(
        "--batch-size",
        type=count("is not a batch size: give a whole number of changes per request from 1 to "
                   "10000, e.g. 100", most=10_000),
        metavar="N",
        help="membership changes per request (default 100, or the --profile's)",
    )
    sync.add_argument(
        "--concurrency",
        type=count("is not a number of groups written at once: give a whole number from 1 to "
                   "64, e.g. 4", most=64),
        metavar="N",
        help="groups written at once (default 4, or the --profile's)",
    )
    add_pacing_options(sync)
    sync.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    sync.add_argument(
        "--plan-out",
        type=output_file,
        metavar="FILE",
        help="with --dry-run: save the plan for approval (apply it with 'groupmap apply')",
    )
    add_removal_guard_options(sync, "apply the plan even above --max-removal-ratio")
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
        "--request-deadline",
        type=amount("is not a deadline: give the seconds one request may take, above 0 and at "
                    "most 3600, e.g. 120", most=3600.0),
        default=REQUEST_DEADLINE,
        metavar="SECONDS",
        help="longest one request may take, answer included (default 120)",
    )
    sync.add_argument(
        "--max-response-mb",
        type=amount("is not a size: give the megabytes an answer may take, above 0 and at most "
                    "1024, e.g. 64", most=1024.0),
        default=MAX_RESPONSE_MB,
        metavar="MB",
        help="largest answer read from the server (default 64)",
    )
    add_notify_option(sync)
    sync.set_defaults(run=notifying(cmd_sync))
    add_sync_trust_options(sync)



CONNECTION_DEFAULTS = {
    "url": None,
    "target": "groups",
    "attribute": None,
    "match_attribute": "userName",
    "insecure_http": False,
    "vendor": "generic",  # --profile, or the saved connection's service provider
    "max_rate": None,
    "max_changes_per_hour": None,
    "notify": None,  # --notify, else the saved connection's webhook
}


def _plan_json(plan, client, estimate) -> dict:
    """--dry-run --json: the plan's counts, with the reads counted as a sync counts them."""
    return {
        "dry_run": True,
        "created_groups": list(plan.groups_to_create),
        "added": plan.added_count,
        "removed": plan.removed_count,
        "unchanged": plan.unchanged_count,
        "not_found": len(plan.not_found),
        "failed": 0,
        "not_kept": 0,
        "requests": client.request_count,
        "drift": len(plan.drift),
        "requests_by_kind": client.requests_by_kind(),
        "groups_read": plan.state.groups_read(),
        "estimate": estimate.to_json(),
    }


def cmd_sync(args: argparse.Namespace) -> int:
    from app.core.errors import InputError
    from app.scim.http.budget import ChangeBudget
    from app.scim.http.client import ScimClient
    from app.scim.http.errors import BadAnswer, ScimError, SyncCancelled
    from app.scim.http.pacing import RateLimiter
    from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
    from app.scim.sync.estimate import plan_estimate
    from app.scim.sync.record import (
        RunJournal,
        applied_since,
        discount_own_changes,
        export_time,
        source_guard_message,
    )

    apply_connection(args, CONNECTION_DEFAULTS)
    token = args.token
    pacing = pacing_from_args(args, batch_size=args.batch_size, concurrency=args.concurrency)
    settings = SyncSettings(
        url=args.url,
        token=token,
        match_attribute=args.match_attribute,
        target=args.target,
        attribute=args.attribute,
        max_removal_ratio=args.max_removal_ratio,
        allow_mass_removal=args.allow_mass_removal,
        insecure_http=args.insecure_http,
        deadline=args.deadline,
        **pacing,
    )
    if args.report:
        check_report_path(args.report, args)
    if args.plan_out:
        check_plan_out(args.plan_out, args)
    users, mapping = load_inputs(args)
    if args.plan_out and not args.dry_run:
        raise InputError("--plan-out saves a plan for approval: use it with --dry-run")
    if (not args.dry_run or args.plan_out) and not args.ignore_expectations:
        refuse_failed_expectations(users, mapping)  # a saved plan is there to be applied
    out = sys.stderr if args.json else sys.stdout
    with (
        ctrl_c_cancels(out) as cancel,
        ScimClient(
            settings.url,
            token,
            insecure_http=settings.insecure_http,
            request_deadline=args.request_deadline,
            max_response_mb=args.max_response_mb,
            limiter=RateLimiter(settings.max_rate, settings.deadline, cancelled=cancel.is_set),
            page_size=settings.page_size,
        ) as client,
    ):
        try:
            state = read_server_state(client, users, mapping, settings, cancelled=cancel.is_set,
                                      listed=getattr(args, "listed_users", None))
        except (ScimError, SyncCancelled) as error:
            if cancel.is_set():
                print(CANCELLED_WHILE_READING, file=sys.stderr)
                return EXIT_CANCELLED
            if isinstance(error, BadAnswer):  # it names the server, the request and the field
                print(f"groupmap: error: {error}; nothing was written.", file=sys.stderr)
                return EXIT_CONNECT
            print(
                f"groupmap: error: could not read {client.base_url}: {error}. Check the URL, "
                f"{args.token_origin} and the network; nothing was written.",
                file=sys.stderr,
            )
            return EXIT_CONNECT
        plan = plan_sync(users, mapping, state, settings)
        own = applied_since(settings.url, export_time(args.users))  # placed by this app: no drift
        plan.drift = discount_own_changes(plan.drift, own, state.managed)
        source = getattr(args, "user_source", None)
        if source is not None and source.kind != "scim":
            plan.drift = []  # an identity provider lists no current groups to drift from
        guard = "" if args.allow_source_change else source_guard_message(settings.url, users)
        estimate = plan_estimate(plan, settings, client.limiter)
        if args.dry_run:
            print(plan.describe(), file=out)
            for message in (plan.mass_removal_message() if plan.blocked else "", guard):
                if message:
                    print(message, file=out)
            if not plan.is_empty:
                print(f"Writing would take {estimate.text()}.", file=out)
            dry = RunJournal.begin(
                plan, settings, mapping, args.users, dry_run=True, source=source,
                requests=client.requests_by_kind(),
            )
            dry.finish(None, "dry run")
            summary = _plan_json(plan, client, estimate)
            if args.plan_out:
                from app.scim.sync.guards import plan_guards
                from app.scim.sync.planfile import save_plan

                if guard:  # what stops a sync stops saving its plan for approval
                    raise InputError(guard)
                guards = plan_guards(plan, ignore_expectations=args.ignore_expectations,
                                     allow_source_change=args.allow_source_change)
                files = [] if source is not None else args.users  # a live source: no file
                saved = save_plan(Path(args.plan_out), plan, mapping, files, guards)
                print(f"Saved {saved.summary()} to {args.plan_out}", file=out)
            if args.json:
                print(json.dumps(summary, ensure_ascii=False))
            return write_report(args.report, plan.to_frame(), EXIT_OK)
        if plan.blocked:
            raise InputError(plan.mass_removal_message())
        if guard:
            raise InputError(guard)
        from app.scim.sync.guards import plan_guards

        guards = plan_guards(plan, ignore_expectations=args.ignore_expectations,
                             allow_source_change=args.allow_source_change)
        journal = RunJournal.begin(plan, settings, mapping, args.users, guards=guards,
                                   source=source, requests=client.requests_by_kind())
        if not plan.is_empty:
            print(f"Writing: {estimate.text()}. Ctrl-C stops between requests.", file=out)
        budget = ChangeBudget(
            settings.max_changes_per_hour, settings.deadline, cancelled=cancel.is_set
        )
        result = execute(
            client,
            plan,
            settings,
            cancelled=cancel.is_set,
            journal=journal,
            verify=not args.no_verify,
            budget=budget,
        )
        journal.finish(result)
    return finish_sync(args, result, client.limiter, budget)


def finish_sync(args: argparse.Namespace, result, limiter=None, budget=None) -> int:
    """After the writes (sync and apply): summary, failures, report last, and the exit status."""
    from app.scim.sync.estimate import changes_rate_text, duration_text, rate_text

    throttled = limiter.throttled if limiter is not None else 0
    args.summary = {**result.to_json(), "throttled": throttled}  # for --notify
    if args.json:
        summary = {**result.to_json(), "throttled": throttled, "cancelled": result.cancelled}
        if budget is not None:
            summary["changes_sent"] = budget.spent
            summary["budget_waited"] = round(budget.waited, 1)
        print(json.dumps(summary, ensure_ascii=False))
    else:
        print_result(result)
        for email in result.not_found:
            print(f"  not found on the server (not created): {email}")
        if throttled:
            print(
                f"The server limited the rate: {throttled:,} request(s) answered 429 or 503 "
                f"were sent again; the last pace was {rate_text(limiter.rate or 1)}."
            )
        if budget is not None and budget.per_hour and budget.waited >= 1:
            print(
                f"The membership-change budget ({changes_rate_text(budget.per_hour)}) spaced "
                f"the requests: {budget.spent:,} change(s) sent; they waited "
                f"{duration_text(budget.waited)} for it in all."
            )
    for line in result.describe_failures():
        print(f"groupmap: failed: {line}", file=sys.stderr)
    for email, why in result.plan.conflicts.items():  # every run, until fixed on a side
        print(f"groupmap: warning: left alone: {email}: {why}", file=sys.stderr)
    for line in result.unverified:  # written, but not checked: a new dry run shows the state
        print(f"groupmap: warning: {line}", file=sys.stderr)
    status = EXIT_FAILED if result.failed or result.not_kept else EXIT_OK
    if result.journal_error:
        status = journal_failure(result)
    elif result.failed and result.nothing_written and result.refused_access:
        print(
            "groupmap: error: the server refused every write (authentication or connection); "
            f"nothing was written. Check that {args.token_origin} may write.",
            file=sys.stderr,
        )
        status = EXIT_CONNECT
    elif result.cancelled:
        print(
            f"groupmap: cancelled (Ctrl-C) between requests, after {result.requests:,} "
            "request(s); what was done is counted above. Run the same command again to "
            "finish: it reads the server again and sends only what is still missing.",
            file=sys.stderr,
        )
        status = EXIT_CANCELLED
    return write_report(args.report, result.report_frame(), status)
