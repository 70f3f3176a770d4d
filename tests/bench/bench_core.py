"""The matching engine: recompute of the preview after one mapping edit."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

from app.core.engine import evaluate
from tests.bench.data import bench_mapping, export_users


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
    return rows
