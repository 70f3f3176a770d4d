"""Google Workspace / Cloud Identity dynamic group queries (CEL): one query per group.

A row is `user.organizations.exists(org, org.department.matches(r'^(?:...)$'))`: CEL's
matches() is an RE2 search, so the pattern is anchored; raw strings keep the backslashes.
A user with several organizations is like a cell with several values: a row matches when
one of them does, as GroupMap's first-match rule reads several values.
"""

from __future__ import annotations

from app.core.idp_rules.charsets import CharSet
from app.core.idp_rules.model import GroupRule, PlannedRow
from app.core.idp_rules.per_group import Clause, group_clauses
from app.core.idp_rules.regex_ast import Chars, Node
from app.core.idp_rules.render import Flavour, render

FLAVOUR = Flavour.RE2
LIMIT = None
DEFAULT_ATTRIBUTE = "department"


def _test(tree: Node, attribute: str) -> str:
    pattern = render(tree, FLAVOUR)
    return f"user.organizations.exists(org, org.{attribute}.matches(r'^(?:{pattern})$'))"


def group_rules(
    plan: list[PlannedRow], default_group: str, attribute: str, multiple_groups: bool
) -> list[GroupRule]:
    rules = []
    for group, clauses in group_clauses(plan, default_group, multiple_groups).items():
        rules.append(GroupRule(group, " || ".join(_clause(c, attribute) for c in clauses)))
    return rules


def _clause(clause: Clause, attribute: str) -> str:
    unless = " || ".join(_test(p.tree, attribute) for p in clause.unless)
    if clause.row is None:
        return f"!({unless or _test(Chars(CharSet()), attribute)})"
    test = _test(clause.row.tree, attribute)
    return f"({test} && !({unless}))" if unless else test
