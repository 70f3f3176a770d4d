"""Okta Expression Language (SpEL-based): one conditional expression for a profile mapping,
or one boolean expression per group for group rules.

A row is `user.department matches '...'`: SpEL's `matches` is Java's whole-string
String.matches, case-sensitive (as Okta's group rules are). Strings are single-quoted with
'' for a quote; a null attribute is tested first, since `matches` needs a string.
"""

from __future__ import annotations

from app.core.idp_rules.model import GroupRule, PlannedRow
from app.core.idp_rules.per_group import Clause, group_clauses
from app.core.idp_rules.regex_ast import Node
from app.core.idp_rules.render import Flavour, render

FLAVOUR = Flavour.JAVA
LIMIT = None
DEFAULT_ATTRIBUTE = "department"


def string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _test(tree: Node, attribute: str) -> str:
    return f"user.{attribute} matches {string(render(tree, FLAVOUR))}"


def expression(plan: list[PlannedRow], default_group: str, attribute: str) -> str:
    """Nested conditionals, first row first; '' for users with no group."""
    fallback = string(default_group)
    body = fallback
    for planned in reversed(plan):
        body = f"({_test(planned.tree, attribute)} ? {string(planned.group)} : {body})"
    return f"user.{attribute} == null ? {fallback} : {body}"


def group_rules(
    plan: list[PlannedRow], default_group: str, attribute: str, multiple_groups: bool
) -> list[GroupRule]:
    """One group rule expression per group."""
    rules = []
    for group, clauses in group_clauses(plan, default_group, multiple_groups).items():
        parts = [_clause(c, attribute) for c in clauses]
        if any(c.row is None for c in clauses):
            body = f"user.{attribute} == null OR {' OR '.join(parts)}"
        else:
            joined = " OR ".join(parts)
            body = f"user.{attribute} != null AND ({joined})" if len(parts) > 1 else (
                f"user.{attribute} != null AND {joined}"
            )
        rules.append(GroupRule(group, body))
    return rules


def _clause(clause: Clause, attribute: str) -> str:
    unless = " OR ".join(_test(p.tree, attribute) for p in clause.unless)
    if clause.row is None:
        return f"!({unless})" if unless else "true"  # no rows: everyone is in the default
    test = _test(clause.row.tree, attribute)
    return f"({test} AND !({unless}))" if unless else f"({test})"
