"""The mapping as one format's rules: exact, or refused row by row with the reasons (and,
with --approximate, the closest rules and what differs)."""

from __future__ import annotations

import re
import unicodedata

from app.core.idp_rules import entra_dynamic, entra_expression, google_dynamic, okta
from app.core.idp_rules.model import Format, PlannedRow, Refusal, Rules
from app.core.idp_rules.regex_ast import Node, backtracking_risk
from app.core.idp_rules.render import CannotRender, Flavour, render
from app.core.idp_rules.row_regex import Matching, Unexpressible, row_tree
from app.core.mapping import Mapping, MappingRow

FLAVOURS = {
    Format.ENTRA_EXPRESSION: entra_expression.FLAVOUR,
    Format.OKTA_EXPRESSION: okta.FLAVOUR,
    Format.ENTRA_DYNAMIC: entra_dynamic.FLAVOUR,
    Format.OKTA_GROUP_RULES: okta.FLAVOUR,
    Format.GOOGLE_DYNAMIC: google_dynamic.FLAVOUR,
}
LIMITS = {
    Format.ENTRA_EXPRESSION: entra_expression.LIMIT,
    Format.OKTA_EXPRESSION: okta.LIMIT,
    Format.ENTRA_DYNAMIC: entra_dynamic.LIMIT,
    Format.OKTA_GROUP_RULES: okta.LIMIT,
    Format.GOOGLE_DYNAMIC: google_dynamic.LIMIT,
}
RISKS = {
    "nested": "the pattern repeats a part whose own repetition can also take where one pass"
    " ends and the next begins, as (a+)+ does",
    "choice": "the pattern repeats a choice whose options can begin with the same character,"
    " as (a|ab)* does",
}
DEFAULT_ATTRIBUTE = "department"
_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def attribute_error(fmt: Format, attribute: str) -> str | None:
    """Why an attribute name cannot be written in the format, or None."""
    if not _ATTRIBUTE.fullmatch(attribute):
        return f"--attribute {attribute!r}: use a plain attribute name (letters, digits, _)"
    return None


def matching_for(fmt: Format, mapping: Mapping, strict: bool = True) -> Matching:
    separator = mapping.options.separator
    return Matching(
        ignore_case=mapping.options.ignore_case,
        separator=separator if len(separator) == 1 else "",
        lookaround=FLAVOURS[fmt] is not Flavour.RE2,
        strict=strict,
    )


def row_problem(fmt: Format, row: MappingRow, matching: Matching) -> tuple[Node | None, str]:
    """The row's tree for this format and, where it is not exact, why ("" when it is); no
    tree where none may be written, even approximately (one a backtracking target could
    spend exponential time on)."""
    flavour = FLAVOURS[fmt]
    try:
        tree = row_tree(row, matching)
        render(tree, flavour)
    except (Unexpressible, CannotRender) as error:
        return None, str(error)
    risk = backtracking_risk(tree) if flavour is not Flavour.RE2 else None
    if risk:
        return None, (
            f"{RISKS[risk]}: {flavour}, which backtracks, could take exponential time on a"
            " value that almost matches, so no rule is written for this row (its users go"
            " to a later row or the default group)"
        )
    if fmt is Format.ENTRA_DYNAMIC:
        return tree, entra_dynamic.case_problem(tree) or ""
    return tree, ""


def _closest(fmt: Format, row: MappingRow, mapping: Mapping) -> Node | None:
    tree, _ = row_problem(fmt, row, matching_for(fmt, mapping, strict=False))
    return tree


def generate(
    mapping: Mapping, fmt: Format, attribute: str = DEFAULT_ATTRIBUTE, approximate: bool = False
) -> Rules:
    """The rules; `refusals` lists every reason they would not be exact (with
    `approximate`, the closest rules are written anyway and the reasons become notes)."""
    result = Rules(fmt, attribute, limit=LIMITS[fmt])
    options = mapping.options
    multiple = options.multiple_groups and fmt.per_group
    if options.multiple_groups and not fmt.per_group:
        result.refusals.append(Refusal(
            None, "--multiple-groups gives a user several groups, but this expression has one"
            " value (the first matching row's group is written)",
            tuple(f for f in Format if f.per_group),
        ))
    if len(options.separator) > 1:
        result.refusals.append(Refusal(
            None, f"the separator {options.separator!r} has several characters, which a"
            " rule's pattern cannot split at (cells are read whole)",
        ))
    matching = matching_for(fmt, mapping)
    for number, row in enumerate(mapping.rows, 1):
        if not row.is_usable:
            continue
        if not fmt.per_group and _unwritable(row.group):
            result.refusals.append(Refusal(
                number, f"the group name {row.group.strip()!r} holds a control character,"
                " which an expression's string cannot hold",
                tuple(f for f in Format if f.per_group),
            ))
            continue
        tree, reason = row_problem(fmt, row, matching)
        if reason:
            carried = tuple(
                other for other in Format if other is not fmt
                and not row_problem(other, row, matching_for(other, mapping))[1]
            )
            result.refusals.append(Refusal(number, reason, carried))
            result.approximated[number] = reason
            tree = tree if tree is not None else _closest(fmt, row, mapping)
        if tree is not None:
            result.plan.append(PlannedRow(number, row, tree))
    default = mapping.default_group
    if not fmt.per_group and _unwritable(default):
        result.refusals.append(Refusal(None, "the default group holds a control character"))
    _write(result, default, multiple, matching)
    if result.limit is not None and result.longest() > result.limit:
        what = "a rule" if fmt.per_group else "the expression"
        result.refusals.append(Refusal(
            None, f"{what} is {result.longest():,} characters, over the limit of"
            f" {result.limit:,}", (),
        ))
    if approximate:
        result.notes += [f"Not exact: {refusal.line()}" for refusal in result.refusals]
    return result


def _unwritable(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" for c in text)


def _write(result: Rules, default: str, multiple: bool, matching: Matching) -> None:
    plan, attribute = result.plan, result.attribute
    match result.format:
        case Format.ENTRA_EXPRESSION:
            result.expression = entra_expression.expression(
                plan, default, attribute, matching.ignore_case, matching.separator
            )
        case Format.OKTA_EXPRESSION:
            result.expression = okta.expression(plan, default, attribute)
        case Format.ENTRA_DYNAMIC:
            result.rules = entra_dynamic.group_rules(plan, default, attribute, multiple)
        case Format.OKTA_GROUP_RULES:
            result.rules = okta.group_rules(plan, default, attribute, multiple)
        case Format.GOOGLE_DYNAMIC:
            result.rules = google_dynamic.group_rules(plan, default, attribute, multiple)

