"""The matching engine: recompute of the preview after one mapping edit."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from app.core.engine import evaluate
from app.core.mapping import Mapping
from tests.bench.data import bench_mapping, export_users, kind_rows, kinds_mapping


def _edit_recompute_ms(n_users: int, runs: int = 9) -> tuple[float, float, int]:
    users = export_users(n_users)
    mapping = bench_mapping()
    started = time.perf_counter()
    evaluate(users, mapping)  # factorization and tokenization happen once, at import
    first = time.perf_counter() - started
    times = []
    for i in range(runs):
        rows = list(mapping.rows)
        rows[i] = replace(rows[i], group=f"Edited {i}")
        edited = mapping.with_rows(rows)
        started = time.perf_counter()
        evaluation = evaluate(users, edited)
        evaluation.group_summaries()
        _ = (evaluation.unmatched, evaluation.changes)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000, first, len(users.profiles)


def _edited(mapping: Mapping, rows: list[int], n: int) -> Mapping:
    """The mapping with the text of one of `rows` changed (a new text each run, so the edited
    row is evaluated afresh and every other row comes from the cache)."""
    edited = list(mapping.rows)
    i = rows[n % len(rows)]
    edited[i] = replace(edited[i], value=f"{edited[i].value}{n % 10}")
    return mapping.with_rows(edited)


def _recompute_s(users, mapping: Mapping) -> float:
    started = time.perf_counter()
    evaluation = evaluate(users, mapping)
    evaluation.group_summaries()
    _ = (evaluation.unmatched, evaluation.changes)
    return time.perf_counter() - started


def _kinds_rows(n: int, target: str, runs: int = 21) -> list[tuple[str, str, str]]:
    """The same edit on the equals-only and on the kinds mapping, interleaved run by run so
    that the machine's load weighs on both alike."""
    users = export_users(n)
    rows = kind_rows()
    mappings = {"equals": bench_mapping(), "kinds": kinds_mapping()}
    times: dict[str, list[float]] = {name: [] for name in mappings}
    for mapping in mappings.values():
        evaluate(users, mapping)
    for i in range(runs):
        for name, mapping in mappings.items():
            times[name].append(_recompute_s(users, _edited(mapping, rows, i)))
    equals, kinds = (statistics.median(times[k]) * 1000 for k in ("equals", "kinds"))
    label = f"{n:,} users, 200 rows of which 40 not equals"
    return [
        (f"recompute after editing one row's text, {label}", f"{kinds:.1f} ms", target),
        (f"  the same edit, all 200 rows equals, {n:,} users", f"{equals:.1f} ms", "-"),
        (f"  ratio of the two (same run), {n:,} users", f"{kinds / equals:.2f}x", "<= 1.5x"),
    ]


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    rows = []
    targets = {10_000: None, 100_000: "<= 5 ms", 1_000_000: "<= 30 ms"}
    for n, target in targets.items():
        if quick and n > 100_000:
            continue
        ms, first, profiles = _edit_recompute_ms(n)
        rows.append(
            (
                f"recompute after one edit, {n:,} users ({profiles:,} profiles)",
                f"{ms:.1f} ms",
                target or "-",
            )
        )
        rows.append((f"first evaluation incl. factorize, {n:,} users", f"{first:.2f} s", "-"))
    for n, target in {100_000: "<= 5 ms", 1_000_000: "<= 30 ms"}.items():
        if not (quick and n > 100_000):
            rows += _kinds_rows(n, target)
    return rows
