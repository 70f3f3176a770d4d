"""Problems worth the admin's attention, found from an evaluation without a loop over users."""

from __future__ import annotations

import numpy as np

from app.core.engine import Change, Evaluation, evaluate
from app.core.expectations import failures
from app.core.mapping import MappingRow, MatchKind
from app.core.mapping_warnings import (
    Warning,
    bad_patterns,
    by_severity,
    duplicate_rows,
    incomplete_rows,
    long_group_names,
    near_duplicate_groups,
)
from app.core.near_miss import case_only, near_rows

__all__ = ["Warning", "find_warnings", "kept_by_apply_existing"]

LISTED_VALUES = 50  # unmatched values listed one by one; the rest are summed up in one warning
BROAD_SHARE = 0.5  # a non-equals row matching more than this share of the users is too broad
LISTED_ROWS = 5  # rows named in a shadowing warning; the rest are counted


def _users(n: int) -> str:
    return f"{n:,} user" + ("" if n == 1 else "s")


def _users_have(n: int) -> str:
    return f"{_users(n)} {'has' if n == 1 else 'have'}"


def find_warnings(evaluation: Evaluation) -> list[Warning]:
    """Every warning about the mapping against this export, most useful first, info last."""
    found: list[Warning] = _failed_expectations(evaluation)
    found += incomplete_rows(evaluation.mapping)
    found += bad_patterns(evaluation.mapping)
    duplicates = duplicate_rows(evaluation.mapping)
    found += duplicates
    found += _shadowed_rows(evaluation, {w.row for w in duplicates})
    found += _broad_rows(evaluation)
    found += _value_warnings(evaluation)
    found += _several_rows(evaluation)
    found += long_group_names(evaluation.mapping)
    found += near_duplicate_groups(evaluation.mapping)
    found += _looks_multi_valued(evaluation)
    found += kept_by_apply_existing(evaluation)
    found += [Warning(**note) for note in evaluation.users.notes if "code" in note]
    return by_severity(found)


def _failed_expectations(evaluation: Evaluation) -> list[Warning]:
    """Each failed expectation, pointing at the row that decides (the first, with several)."""
    return [
        Warning(
            "expectation_failed",
            outcome.message,
            row=outcome.rows[0] + 1 if outcome.rows else None,
            value=outcome.expectation.subject.strip(),
        )
        for outcome in failures(evaluation)
    ]


def _row_list(rows: list[int]) -> str:
    """ "row 3", "rows 3 and 7", "rows 1, 2, 3, 4, 5 and 4 more" (1-based numbers)."""
    shown = [str(r) for r in rows[:LISTED_ROWS]]
    if len(rows) > LISTED_ROWS:
        shown.append(f"{len(rows) - LISTED_ROWS} more")
    if len(shown) == 1:
        return f"row {shown[0]}"
    return f"rows {', '.join(shown[:-1])} and {shown[-1]}"


def _shadowed_rows(evaluation: Evaluation, already: set[int | None]) -> list[Warning]:
    """One-group mode: rows that match users but never decide, because earlier rows do."""
    if evaluation.mapping.options.multiple_groups or not len(evaluation.hit_row):
        return []
    n_rows = len(evaluation.mapping.rows)
    decider = np.full(len(evaluation.users.cells), -1, dtype=np.int64)
    decider[evaluation.match_cell] = evaluation.match_row
    shadowed = np.setdiff1d(evaluation.hit_row, evaluation.match_row)
    if not len(shadowed):
        return []
    pairs = np.unique(evaluation.hit_row * n_rows + decider[evaluation.hit_cell])
    row_of, by = pairs // n_rows, pairs % n_rows
    found = []
    for row in shadowed:
        if int(row) + 1 in already:
            continue
        earlier = [int(r) + 1 for r in by[row_of == row]]
        mapping_row = evaluation.mapping.rows[row]
        found.append(
            Warning(
                "shadowed_row",
                f"Row {row + 1} ({mapping_row.describe()}) is shadowed by {_row_list(earlier)}:"
                " they come first and already decide every user it matches, so it never"
                " decides a group. Move it up, or remove it.",
                row=int(row) + 1,
                value=mapping_row.value.strip(),
                suggestion=str(earlier[0]),  # the row to move it above
            )
        )
    return found


def _broad_rows(evaluation: Evaluation) -> list[Warning]:
    """Non-equals rows matching more than half of the users: likely too broad."""
    total = evaluation.user_count
    rows = evaluation.mapping.rows
    other = np.array([row.kind != MatchKind.EQUALS for row in rows], dtype=bool)
    if not total or not other.any():
        return []
    n_rows = len(rows)
    kept = other[evaluation.hit_row]
    pairs = np.unique(evaluation.hit_cell[kept] * n_rows + evaluation.hit_row[kept])
    per_row = np.bincount(
        pairs % n_rows, weights=evaluation.users.cell_weights[pairs // n_rows], minlength=n_rows
    ).astype(np.int64)
    found = []
    for i in np.flatnonzero(per_row > BROAD_SHARE * total):
        row = rows[i]
        count = int(per_row[i])
        found.append(
            Warning(
                "row_too_broad",
                f"Row {i + 1} ({row.describe()}) matches {count:,} of {_users(total)}"
                f" ({count / total:.0%}): likely too broad. Narrow it, or check it on purpose.",
                row=int(i) + 1,
                value=row.value.strip(),
                count=count,
            )
        )
    return found


def _value_warnings(evaluation: Evaluation) -> list[Warning]:
    """Unmatched values, near-misses of row values, and rows that match no user."""
    tokens = evaluation.tokens
    users_per_value = evaluation.value_user_counts()
    rows = evaluation.mapping.rows
    found: list[Warning] = []

    unmatched = np.flatnonzero(~evaluation.value_matched)
    unmatched = unmatched[np.argsort(-users_per_value[unmatched], kind="stable")]
    near = near_rows(evaluation, unmatched)
    near_misses: list[Warning] = []
    listed: list[Warning] = []
    rest_users = rest_values = 0
    for code, near_row in zip(unmatched, near, strict=True):
        spelled, count = str(tokens.spelling[code]), int(users_per_value[code])
        if near_row >= 0:
            near_misses.append(_near_miss(spelled, count, int(near_row), rows[near_row]))
        elif len(listed) < LISTED_VALUES:
            listed.append(
                Warning(
                    "unmatched_value",
                    f"{_users_have(count)} the value {spelled!r}, which matches no row.",
                    value=spelled,
                    count=count,
                )
            )
        else:
            rest_users += count
            rest_values += 1
    found += near_misses + listed
    if rest_users:
        found.append(
            Warning(
                "unmatched_values_more",
                f"{rest_values:,} more values match no row ({_users(rest_users)}).",
                count=rest_users,
            )
        )

    blank = int(evaluation.users.cell_weights[_blank_cells(evaluation)].sum())
    if blank:
        defaulted = bool(evaluation.mapping.default_group)  # the admin chose: info
        found.append(
            Warning(
                "blank_value",
                f"{_users_have(blank)} no value in {evaluation.users.source_column!r}"
                + ("; they get the default group." if defaulted
                   else " and no default group is set."),
                count=blank,
                severity="info" if defaulted else "warning",
            )
        )

    matching = np.zeros(len(rows), dtype=bool)
    matching[evaluation.value_rows] = True
    for i, row in enumerate(rows):
        if row.is_usable and not matching[i]:
            found.append(
                Warning(
                    "row_matches_no_user",
                    f"Row {i + 1} ({_condition(row)}) matches no user of the export.",
                    row=i + 1,
                    value=row.value.strip(),
                )
            )
    return found


def _condition(row: MappingRow) -> str:
    return row.describe() if row.kind != MatchKind.EQUALS else repr(row.value.strip())


def _near_miss(spelled: str, count: int, row: int, close: MappingRow) -> Warning:
    """A value that row `row` (any kind) would match if case or spacing were ignored."""
    target = close.value.strip()
    if case_only(spelled, close):
        how = "only if case is ignored. Add a row for it, or turn off case-sensitive matching"
    else:
        how = "only if spaces are ignored. Add a row for it, or fix it in the identity provider"
    return Warning(
        "near_miss",
        f"{_users_have(count)} the value {spelled!r}, which matches no row but is close to row"
        f" {row + 1} ({_condition(close)}): it would match {how}.",
        row=row + 1,
        value=spelled,
        count=count,
        suggestion=target,
    )


def _blank_cells(evaluation: Evaluation) -> np.ndarray:
    has_value = np.zeros(len(evaluation.users.cells), dtype=bool)
    has_value[evaluation.tokens.pair_cell] = True
    return ~has_value


def _several_rows(evaluation: Evaluation) -> list[Warning]:
    if evaluation.mapping.options.multiple_groups or not len(evaluation.hit_cell):
        return []
    rows_per_cell = np.bincount(
        np.unique(evaluation.hit_cell * len(evaluation.mapping.rows) + evaluation.hit_row)
        // max(len(evaluation.mapping.rows), 1),
        minlength=len(evaluation.users.cells),
    )
    count = int(evaluation.users.cell_weights[rows_per_cell > 1].sum())
    if not count:
        return []
    return [
        Warning(
            "several_rows_match",
            f"{_users(count)} {'matches' if count == 1 else 'match'} several rows;"
            " the first row in order decides their group."
            " Turn off 'one group per user' to give them every matching group.",
            count=count,
        )
    ]


def _looks_multi_valued(evaluation: Evaluation) -> list[Warning]:
    if evaluation.mapping.options.separator:
        return []
    cells = evaluation.users.cells.astype(str)
    if not len(cells):
        return []
    semicolon = np.char.find(cells, ";") >= 0
    comma = np.char.find(cells, ",") >= 0
    count = int(evaluation.users.cell_weights[semicolon | comma].sum())
    if not count:
        return []
    sep = ";" if evaluation.users.cell_weights[semicolon].sum() >= count / 2 else ","
    return [
        Warning(
            "looks_multi_valued",
            f"{_users_have(count)} a value containing ';' or ',', which looks like several"
            f" values in one cell. Set the separator (for example {sep!r}) to match each part.",
            count=count,
            suggestion=sep,
        )
    ]


def kept_by_apply_existing(evaluation: Evaluation) -> list[Warning]:
    """Users a row would move, kept in their current groups because apply_existing is off:
    one note (the admin chose this; info), with how many per deciding row (or the default
    group), so a change that "does nothing" says why.
    """
    mapping = evaluation.mapping
    if mapping.options.apply_existing or not len(evaluation.users):
        return []
    applied = evaluate(evaluation.users, mapping.with_options(apply_existing=True))
    would_change = applied.profile_change != Change.UNCHANGED
    would_change &= applied.profile_change != Change.UNMATCHED
    kept = would_change & ~evaluation.profile_assigned
    if not kept.any():
        return []
    profiles = evaluation.users.profiles
    cells, first = np.unique(evaluation.match_cell, return_index=True)
    row_of_cell = np.full(len(evaluation.users.cells), -1, dtype=np.int64)
    row_of_cell[cells] = evaluation.match_row[first]
    rows = row_of_cell[profiles.cell[kept]]
    weights = profiles.weight[kept]
    order = sorted(map(int, np.unique(rows)), key=lambda r: r < 0)  # the default group last
    parts = []
    for row in order:
        count = int(weights[rows == row].sum())
        parts.append(f"{_users(count)} of row {row + 1}" if row >= 0
                     else f"{_users(count)} without a matching row (default group)")
    total = int(weights.sum())
    keep = "keeps their current group" if total == 1 else "keep their current groups"
    why = "because 'apply changes to existing users' is off"
    if len(parts) == 1:
        message = f"{parts[0]} {keep} {why}."
    else:
        shown = parts[:LISTED_ROWS] + (
            [f"users of {len(parts) - LISTED_ROWS} more"] if len(parts) > LISTED_ROWS else [])
        message = (f"{_users(total)} {keep} {why}: {', '.join(shown[:-1])} and {shown[-1]}.")
    return [Warning("kept_by_apply_existing", message,
                    row=order[0] + 1 if order[0] >= 0 else None, count=total)]
