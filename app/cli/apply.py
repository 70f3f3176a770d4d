"""`groupmap apply plan.json`: apply a saved plan exactly as it was approved.

The plan's summary and code are printed first; the write gate (app/scim/sync/gate.py) reads
the plan's whole scope again and a plan that no longer fits the server (a member of any managed
group changed, a group appeared, went, was renamed or made again, a user was deleted or made
again, a near-duplicate group appeared) is refused,
unless `--replan` plans again from the current state and shows the difference. The writes
go through the same executor, guards and reporting as `groupmap sync`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.notify import add_notify_option, notifying
from app.cli.pacing import add_pacing_options, ctrl_c_cancels, pacing_from_args
from app.core.errors import InputError
from app.core.identity import email_key

if TYPE_CHECKING:
    from app.cli.common import AddCommand


def register(add: AddCommand) -> None:
    from app.cli.common import add_result_options
    from app.cli.connections import add_server_options

    apply = add("apply", help="apply a plan saved by sync --dry-run --plan-out")
    apply.add_argument("plan", metavar="PLAN", help="the plan file (.json)")
    add_server_options(apply, "the plan's server (default: its URL)")
    add_result_options(apply)
    apply.add_argument(
        "--replan",
        action="store_true",
        help="if the server changed since the plan, plan again from its state and apply that",
    )
    apply.add_argument(
        "--allow-mass-removal",
        action="store_true",
        help="apply the plan even above the removal limit it was made with",
    )
    add_pacing_options(apply)
    add_notify_option(apply)
    apply.set_defaults(run=notifying(cmd_apply))


def cmd_apply(args: argparse.Namespace) -> int:
    from app.cli.common import EXIT_BAD_INPUT, EXIT_CONNECT, check_report_path
    from app.cli.connections import apply_connection
    from app.cli.sync import finish_sync
    from app.scim.config.settings import SyncSettings
    from app.scim.http.budget import ChangeBudget
    from app.scim.http.client import ScimClient
    from app.scim.http.errors import ScimError
    from app.scim.http.pacing import RateLimiter
    from app.scim.http.redact import REDACTED, redact_url
    from app.scim.sync import execute
    from app.scim.sync.gate import PlanNoLongerFits, pass_gate
    from app.scim.sync.guards import overridden
    from app.scim.sync.plan import MassRemovalError
    from app.scim.sync.planfile import read_plan, saved_settings, sync_plan
    from app.scim.sync.record import RunJournal

    saved = read_plan(Path(args.plan))
    out = sys.stderr if args.json else sys.stdout
    print(f"Applying {saved.summary()}", file=out)
    for line in overridden(saved.content["guard"].get("overrides") or {}):
        print(f"groupmap: note: plan {saved.code}: {line}", file=sys.stderr)
    plan_url = saved.url  # redacted: a query's API key is never kept in a plan
    defaults = {
        "url": plan_url,
        "insecure_http": False,
        "vendor": "generic",
        "max_rate": None,
        "max_changes_per_hour": None,
        "notify": None,  # --notify, else the saved connection's webhook
    }
    apply_connection(args, defaults)
    if not saved.fits_server(args.url):
        raise InputError(
            f"the plan was made for {plan_url}, not {redact_url(args.url)}: user and group ids "
            "differ between servers, so apply it to the server it was made for, or make a new plan"
        )
    if REDACTED in args.url:
        raise InputError(
            f"plan {saved.code} names {plan_url}, whose secret a plan does not keep: pass the "
            "full URL with --url, or --connection NAME of the saved connection"
        )
    if args.report:
        check_report_path(args.report, args)
    settings = saved_settings(
        saved,
        SyncSettings(
            url=args.url,
            token=args.token,
            allow_mass_removal=args.allow_mass_removal,
            insecure_http=args.insecure_http,
            deadline=args.deadline,
            **pacing_from_args(args),
        ),
    )
    limiter = RateLimiter(settings.max_rate, settings.deadline)
    budget = ChangeBudget(settings.max_changes_per_hour, settings.deadline)
    with (
        ctrl_c_cancels(out) as cancel,
        ScimClient(
            args.url,
            args.token,
            insecure_http=settings.insecure_http,
            limiter=limiter,
            page_size=settings.page_size,
        ) as client,
    ):
        limiter.cancelled = budget.cancelled = cancel.is_set
        plan = sync_plan(saved, settings)
        try:
            try:
                pass_gate(client, plan, settings, cancel.is_set)  # the scope, read again
                stale: list[str] = []
            except PlanNoLongerFits as refused:
                stale = refused.changes
            if stale:
                for line in stale:
                    print(f"groupmap: {line}", file=sys.stderr)
                if not args.replan:
                    print(
                        f"groupmap: error: plan {saved.code} no longer fits {plan_url}; nothing "
                        "was applied. Make a new plan and have it approved, or pass --replan "
                        "to plan again from the server's current state.",
                        file=sys.stderr,
                    )
                    return EXIT_BAD_INPUT
                plan = _replan(client, saved, settings, out)
        except ScimError as error:
            print(
                f"groupmap: error: could not read {client.base_url}: {error}. Check the URL, "
                f"{args.token_origin} and the network; nothing was applied.",
                file=sys.stderr,
            )
            return EXIT_CONNECT
        if plan.blocked:
            raise MassRemovalError(plan.mass_removal_message())
        journal = RunJournal.begin(
            plan, settings, saved.mapping, saved.export_files, counted=False, applies=saved.code,
            guards=saved.content["guard"].get("overrides") or {},
            requests=client.requests_by_kind(),
        )
        # read back (verified) and journaled, like a sync
        result = execute(
            client, plan, settings, cancelled=cancel.is_set, journal=journal, budget=budget
        )
        journal.finish(result)
    return finish_sync(args, result, limiter, budget)


def _replan(client, saved, settings, out):
    """A new plan from the server's state and the plan's export and mapping, its difference
    with the saved one printed."""
    from app.io import read_users
    from app.scim.sync.plan import plan_sync
    from app.scim.sync.planfile import files_digest
    from app.scim.sync.state import read_server_state

    files = [Path(name) for name in saved.export_files]
    if not files:  # made from a live source (--users KIND:ATTRIBUTE): nothing to read again
        raise InputError(
            "--replan needs the plan's export, and this plan was made from a live source; "
            "make a new plan with 'groupmap sync --dry-run --plan-out'"
        )
    missing = [str(p) for p in files if not p.is_file()]
    if missing:
        raise InputError(
            f"--replan needs the plan's export, and {missing[0]} is not there; make a new plan"
        )
    if files_digest(files) != saved.content["export"]["sha256"]:
        print("Note: the export changed since the plan was made; planning from it as it is now.",
              file=out)
    mapping = saved.mapping
    users = read_users(files, source_column=mapping.options.source_column)
    plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings), settings)
    before = {
        (op["op"], op["group"], email_key(str(op.get("email", "")))) for op in saved.operations
    }
    after = {("create", g, "") for g in plan.groups_to_create}
    for op, changes in (("add", plan.adds), ("remove", plan.removes)):
        after |= {(op, g, email_key(e)) for g, emails in changes.items() for e in emails}
    print(f"Replanned: {len(after - before)} operation(s) new, {len(before - after)} dropped "
          "since the saved plan.", file=out)
    for sign, ops in (("+", after - before), ("-", before - after)):
        for op, group, email in sorted(ops):
            print(f"  {sign} {op} {group} {email}".rstrip(), file=out)
    return plan
