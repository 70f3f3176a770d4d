"""Who an approximate rule places differently, in the current export: the written rules
are read back here (as Python patterns) and compared with the engine's decision."""

from __future__ import annotations

import re

from app.core.engine import Evaluation, evaluate
from app.core.idp_rules.model import Format, Rules
from app.core.idp_rules.render import Flavour, render
from app.core.mapping import Mapping
from app.core.users import UserList

SHOWN = 10  # users named per note; the rest are counted


def written_decision(rules: Rules, mapping: Mapping, cell: str) -> tuple[str, ...]:
    """The groups the written rules give a cell (sorted), as the target would read them."""
    flags = re.IGNORECASE if rules.format is Format.ENTRA_DYNAMIC else 0
    matched = [p for p in rules.plan if re.fullmatch(render(p.tree, Flavour.PYTHON), cell,
                                                     flags)]
    if not matched:
        return (mapping.default_group,) if mapping.default_group else ()
    if mapping.options.multiple_groups and rules.format.per_group:
        return tuple(sorted({p.group for p in matched}))
    return (matched[0].group,)


def engine_decision(evaluation: Evaluation, cell: int) -> tuple[str, ...]:
    lo, hi = evaluation.cell_target_ptr[cell], evaluation.cell_target_ptr[cell + 1]
    return tuple(sorted({evaluation.group_names[g] for g in evaluation.cell_target[lo:hi]}))


def affected_notes(rules: Rules, mapping: Mapping, users: UserList) -> list[str]:
    """One note per approximation with the users it places differently (by email)."""
    evaluation = evaluate(users, mapping)
    cells = [str(c) for c in users.cells]
    differing = {
        i for i, cell in enumerate(cells)
        if written_decision(rules, mapping, cell) != engine_decision(evaluation, i)
    }
    emails = users.frame["email"].to_numpy()
    codes = users.cell_codes

    def who(cell_codes: set[int]) -> str:
        found = [str(emails[u]) for u in range(len(emails)) if int(codes[u]) in cell_codes]
        if not found:
            return "no user of this export is placed differently"
        listed = ", ".join(found[:SHOWN])
        more = f" and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
        return f"{len(found)} user(s) of this export placed differently: {listed}{more}"

    notes, explained = [], set()
    for number in sorted(rules.approximated):
        row_cells = _disagreeing_cells(rules, mapping, number, users, cells) & differing
        explained |= row_cells
        notes.append(f"Row {number}: {who(row_cells)}.")
    rest = differing - explained
    if rest or not rules.approximated:
        notes.append(f"Overall: {who(differing)}.")
    return notes


def _disagreeing_cells(
    rules: Rules, mapping: Mapping, number: int, users: UserList, cells: list[str]
) -> set[int]:
    """Cells on which row `number` as written and as GroupMap reads it disagree."""
    alone = mapping.with_rows([mapping.rows[number - 1]]).with_options(default_group="")
    matched = evaluate(users, alone).cell_matched
    written = next((p for p in rules.plan if p.number == number), None)
    flags = re.IGNORECASE if rules.format is Format.ENTRA_DYNAMIC else 0
    pattern = re.compile(render(written.tree, Flavour.PYTHON), flags) if written else None
    return {
        i for i, cell in enumerate(cells)
        if bool(pattern and pattern.fullmatch(cell)) != bool(matched[i])
    }
