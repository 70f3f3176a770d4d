"""The matching engine: recompute of the preview after one mapping edit."""

from __future__ import annotations

import statistics
import time
from dataclasses import replace

import numpy as np
import pandas as pd

from app.core import matching
from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, MatchKind, Options
from app.core.users import UserList
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
    for kind in (MatchKind.CONTAINS, MatchKind.PATTERN):
        rows += _many_rows(kind, 2_000 if quick else 20_000, 5_000 if quick else 50_000)
    return rows


def _many_rows_users(n_users: int, n_values: int) -> UserList:
    """n_users holding n_values distinct values such as "Sales-EMEA-1234"."""
    rng = np.random.default_rng(2)
    teams = np.array(["Sales", "Engineering", "Support", "Marketing"], dtype=object)
    regions = np.array(["EMEA", "AMER", "APAC"], dtype=object)
    picks = rng.integers(0, n_values, size=n_users)
    source = [f"{teams[i % 4]}-{regions[i % 3]}-{i}" for i in picks]
    ids = np.arange(n_users).astype(str)
    return UserList(pd.DataFrame({
        "email": np.char.add(np.char.add("user", ids), "@example.com"),
        "name": np.char.add("User ", ids), "status": "active", "source": source, "groups": "",
    }))


def _many_rows_mapping(kind: MatchKind, n_rows: int) -> Mapping:
    """n_rows rows of one kind, each matching a few of the values above."""
    regions = ["EMEA", "AMER", "APAC"]
    text = {
        MatchKind.CONTAINS: lambda j: f"{regions[j % 3]}-{j}",
        MatchKind.PATTERN: lambda j: rf"[A-Za-z]+-{regions[j % 3]}-{j}\d?",
    }[kind]
    rows = tuple(MappingRow(text(j), f"Group {j % 40}", kind) for j in range(n_rows))
    return Mapping(rows, Options(apply_existing=True))


def _first_s(users: UserList, mapping: Mapping) -> float:
    users.engine_cache.clear()
    return _recompute_s(users, mapping)


def _many_rows(kind: MatchKind, n_rows: int, n_users: int, runs: int = 3):
    """The first evaluation of n_rows rows of one kind, and a recompute after editing one of
    them, against the same first evaluation done a row at a time (the way for a few rows,
    `FEW_ROWS`; patterns one compiled pattern each), on a hundredth of the rows, times 100."""
    users = _many_rows_users(n_users, 10_000)
    mapping = _many_rows_mapping(kind, n_rows)
    first = statistics.median(_first_s(users, mapping) for _ in range(runs))
    edits = [_recompute_s(users, _edited(mapping, [7], i)) for i in range(9)]
    part = mapping.with_rows(mapping.rows[: n_rows // 100])
    few, prefilter = matching.FEW_ROWS, matching._pattern_filter
    matching.FEW_ROWS = n_rows
    matching._pattern_filter = _one_pattern_at_a_time
    try:
        alone = _first_s(users, part) * 100
    finally:
        matching.FEW_ROWS, matching._pattern_filter = few, prefilter
    label = f"{n_rows:,} {kind} rows, {n_users:,} users (10,000 values)"
    return [
        (f"first evaluation, {label}", f"{first:.2f} s", "-"),
        ("  one row at a time (a hundredth of the rows, x100), same run", f"{alone:.0f} s",
         f"{alone / first:.0f}x slower"),
        (f"recompute after editing one of the {n_rows:,} rows",
         f"{statistics.median(edits) * 1000:.0f} ms", "-"),
    ]


def _one_pattern_at_a_time(values, rows, ignore_case):
    found = {}
    for key, row in rows.items():
        compiled = matching.compile_pattern(row.value, ignore_case)
        found[key] = np.flatnonzero([compiled.fullmatch(matching.encode_value(v)) is not None
                                     for v in values])
    return found
