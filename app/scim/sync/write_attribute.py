"""--target attribute: write each user's group into a user attribute (no /Groups needed).

Where the server advertises /Bulk, the PATCH requests travel in bulk requests of up to
`batch_size` operations (within maxOperations and maxPayloadSize); otherwise one per user.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from functools import partial
from typing import Any

from app.core.identity import email_key
from app.scim.http.errors import ScimError
from app.scim.http.pacing import Stop
from app.scim.sync.run import Run
from app.scim.sync.verify import error_in_body

Item = tuple[str, str, list[str], list[str]]  # email, value, groups added to, removed from


def attribute_jobs(run: Run) -> list[Callable[[], None]]:
    """The work for the thread pool, and the planned request count set on the run."""
    plan = run.plan
    index: dict[str, tuple[list[str], list[str]]] = {}
    for position, changes in enumerate((plan.adds, plan.removes)):
        for group, emails in changes.items():
            for email in emails:
                index.setdefault(email_key(email), ([], []))[position].append(group)
    items = [(e, v, *index.get(e, ([], []))) for e, v in plan.attribute_values.items()]
    features = run.client.features()
    per_bulk = min(run.settings.batch_size, features.bulk_max_operations)
    if features.bulk and per_bulk > 1:
        chunks = _chunks(run, items, per_bulk, features.bulk_max_payload)
        run.total = len(chunks)
        return [partial(_write_bulk, run, c) for c in chunks]
    run.total = len(items)
    return [partial(_write_one, run, i) for i in items]


def _operation(run: Run, value: str) -> dict[str, Any]:
    path = str(run.settings.attribute)
    if value:
        return {"op": "replace", "path": path, "value": value}
    return {"op": "remove", "path": path}


def _chunks(run: Run, items: list[Item], per_bulk: int, max_payload: int) -> list[list[Item]]:
    limit = int(max_payload * 0.9) if max_payload else math.inf
    chunks: list[list[Item]] = []
    current: list[Item] = []
    size = 0
    for item in items:
        cost = len(json.dumps(_operation(run, item[1]))) + 200  # envelope, path and id
        if current and (len(current) >= per_bulk or size + cost > limit):
            chunks.append(current)
            current, size = [], 0
        current.append(item)
        size += cost
    if current:
        chunks.append(current)
    return chunks


def _record(run: Run, item: Item, error: Exception | None) -> None:
    email, _, added_to, removed_from = item
    for groups, operation in ((added_to, "add"), (removed_from, "remove")):
        for group in groups:
            if error is None and operation == "add":
                run.result.applied(group, added=[email])
            elif error is None:
                run.result.applied(group, removed=[email])
            else:
                run.fail(group, operation, [email], error)


def _stopped(run: Run, items: list[Item], stop: Stop) -> None:
    for email, _, added_to, removed_from in items:
        for group in added_to:
            run.not_sent(group, "add", [email], stop)
        for group in removed_from:
            run.not_sent(group, "remove", [email], stop)


def _intend(run: Run, items: list[Item]) -> None:
    """The intents of these users' writes, on disk before the request goes."""
    for email, _, added_to, removed_from in items:
        for group in added_to:
            run.intend("add", group, [email])
        for group in removed_from:
            run.intend("remove", group, [email])


def _write_one(run: Run, item: Item) -> None:
    try:
        run.check()
        _intend(run, [item])
    except Stop as stop:
        _stopped(run, [item], stop)
        return
    try:
        answer = run.client.patch_user(run.plan.state.user_ids[item[0]], [_operation(run, item[1])])
    except ScimError as exc:
        _record(run, item, exc)
    else:
        # A 200 carrying a SCIM Error failed.
        _record(run, item, error_in_body(answer, run.client.redact))
    run.step()


def _write_bulk(run: Run, items: list[Item]) -> None:
    try:
        run.check()
        _intend(run, items)
    except Stop as stop:
        _stopped(run, items, stop)
        return
    ids = run.plan.state.user_ids
    patches = [(ids[email], [_operation(run, value)]) for email, value, _, _ in items]
    try:
        outcomes: list[ScimError | None] = run.client.bulk_patch("/Users", patches)
    except ScimError as exc:
        outcomes = [exc] * len(items)
    for item, outcome in zip(items, outcomes, strict=True):
        _record(run, item, outcome)
    run.step()
