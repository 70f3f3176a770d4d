"""The warnings that depend on the mapping alone: the grid asks for them with or without an
export, and find_warnings (app/core/warnings.py) includes them."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from app.core.identity import how_names_differ, same_name_groups
from app.core.mapping import (
    GROUP_NAME_LIMIT,
    Mapping,
    MappingRow,
    MatchKind,
    as_typed,
    normalize_value,
    pattern_error,
)

# What a problem is worth: an error stops a row (or an expectation) from doing its job, a
# warning is probably a mistake, info says what GroupMap does with what the admin chose.
ERRORS = frozenset({"duplicate_value", "group_name_too_long", "bad_pattern", "expectation_failed"})
INFO = frozenset({"several_rows_match", "unmatched_values_more", "kept_by_apply_existing",
                  "sheet_chosen", "merged_cells"})
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Warning:
    """One problem. `row` is a 1-based mapping row; `value` an export value it is about;
    `severity` error, warning or info (by default from the code)."""

    code: str
    message: str
    row: int | None = None
    value: str | None = None
    count: int | None = None
    suggestion: str | None = None
    severity: str = ""

    def __post_init__(self) -> None:
        if not self.severity:
            default = "error" if self.code in ERRORS else "info" if self.code in INFO else "warning"
            object.__setattr__(self, "severity", default)

    def to_dict(self) -> dict[str, Any]:
        return {key: val for key, val in asdict(self).items() if val is not None}


def by_severity(warnings: list[Warning]) -> list[Warning]:
    """Info after errors and warnings, each kept in its order (a stable sort)."""
    return sorted(warnings, key=lambda w: w.severity == "info")


def mapping_warnings(mapping: Mapping) -> list[Warning]:
    """Every warning that needs no export, in find_warnings' order."""
    return incomplete_rows(mapping) + bad_patterns(mapping) + duplicate_rows(mapping) + (
        long_group_names(mapping) + near_duplicate_groups(mapping)
    )


def incomplete_rows(mapping: Mapping) -> list[Warning]:
    return [
        Warning(
            "incomplete_row",
            f"Row {i + 1} has a value but no group, or a group but no value: it is ignored.",
            row=i + 1,
        )
        for i, row in enumerate(mapping.rows)
        if not row.is_complete and (row.value.strip() or row.group.strip())
    ]


def bad_patterns(mapping: Mapping) -> list[Warning]:
    found = []
    for i, row in enumerate(mapping.rows):
        if row.kind != MatchKind.PATTERN or not row.is_complete:
            continue
        error = pattern_error(row.value)
        if error is not None:
            where = f" at position {error.pos}" if error.pos is not None else ""
            found.append(
                Warning(
                    "bad_pattern",
                    f"Row {i + 1}: the pattern {as_typed(row.value.strip())} does not compile"
                    f" (RE2: {error.msg}{where}), so the row is ignored. Fix the pattern"
                    " (RE2 syntax: no backreferences or lookaround) or choose another kind.",
                    row=i + 1,
                    value=row.value.strip(),
                )
            )
    return found


def duplicate_rows(mapping: Mapping) -> list[Warning]:
    ignore_case = mapping.options.ignore_case
    first: dict[tuple[str, str], int] = {}
    found = []
    for i, row in enumerate(mapping.rows):
        if not row.is_usable:
            continue
        pattern = row.kind == MatchKind.PATTERN  # a pattern keeps its case: \S is not \s
        key = (row.kind, normalize_value(row.value, ignore_case and not pattern))
        if key in first:
            found.append(
                Warning(
                    "duplicate_value",
                    f"Row {i + 1} repeats {_repeated(row)} of row {first[key] + 1};"
                    f" row {first[key] + 1} comes first, so row {i + 1} never decides a group"
                    " in one-group mode.",
                    row=i + 1,
                    value=row.value.strip(),
                )
            )
        else:
            first[key] = i
    return found


def _repeated(row: MappingRow) -> str:
    if row.kind == MatchKind.EQUALS:
        return f"the value {row.value.strip()!r}"
    return f"the condition {row.describe()}"


def long_group_names(mapping: Mapping) -> list[Warning]:
    found = []
    for i, row in enumerate(mapping.rows):
        name = row.group.strip()
        if len(name) > GROUP_NAME_LIMIT:
            found.append(
                Warning(
                    "group_name_too_long",
                    f"Row {i + 1}: the group name {name!r} has {len(name)} characters;"
                    f" Calendly allows {GROUP_NAME_LIMIT}. Shorten it.",
                    row=i + 1,
                    value=name,
                )
            )
    default = mapping.default_group
    if len(default) > GROUP_NAME_LIMIT:
        found.append(
            Warning(
                "group_name_too_long",
                f"The default group {default!r} has {len(default)} characters;"
                f" Calendly allows {GROUP_NAME_LIMIT}. Shorten it.",
                value=default,
            )
        )
    return found


def near_duplicate_groups(mapping: Mapping) -> list[Warning]:
    """Group names of the rows and the default group that are one group by group_key but
    spelled differently ("Legal" and "legal", "Sales" and "Sales" with a zero-width space):
    a sync would stop rather than create both. One warning per later spelling."""
    where: dict[str, str] = {}  # spelling -> where it first appears
    first_row: dict[str, int | None] = {}
    for i, row in enumerate(mapping.rows):
        name = row.group.strip()
        if row.is_usable and name not in where:
            where[name], first_row[name] = f"row {i + 1}", i + 1
    default = mapping.default_group
    if default and default not in where:
        where[default], first_row[default] = "the default group", None
    found = []
    for spellings in same_name_groups(where):
        kept = spellings[0]
        for other in spellings[1:]:
            found.append(
                Warning(
                    "near_duplicate_group",
                    f"The group {other!r} ({where[other]}) and {kept!r} ({where[kept]}) differ"
                    f" only by {how_names_differ(other, kept)}: a server holds them as one group,"
                    f" so a sync stops rather than create both. Spell it {kept!r} everywhere.",
                    row=first_row[other],
                    value=other,
                    suggestion=kept,
                )
            )
    return found
