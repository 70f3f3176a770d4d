"""Microsoft Entra ID dynamic membership rules ("Manage rules for dynamic membership
groups"): one rule per group, at most 3,072 characters.

Every row is `user.department -match "^(?:...)$"`: -match searches, so the pattern is
anchored. The page says string and regex operations ignore case, so a rule is exact only
where that cannot matter: every character set in it must already hold all case variants
of its members (checked with Python's case rules), which a case-sensitive row of letters
never does. The page documents only `` ` `` before a double quote as an escape; the
patterns never hold a quote (it is written \\x22).
"""

from __future__ import annotations

from app.core.idp_rules.charsets import CharSet, case_stable
from app.core.idp_rules.model import GroupRule, PlannedRow
from app.core.idp_rules.per_group import Clause, group_clauses
from app.core.idp_rules.regex_ast import Chars, Node, char_sets
from app.core.idp_rules.render import Flavour, render, render_chars

FLAVOUR = Flavour.DOTNET
LIMIT = 3_072
DEFAULT_ATTRIBUTE = "department"


def case_problem(tree: Node) -> str | None:
    """Why Entra's case-insensitive matching would change what the row matches, or None."""
    for chars in char_sets(tree):
        if not case_stable(chars):
            return (
                "Entra compares without regard to case, and this row's characters"
                f" {render_chars(chars, Flavour.JAVA)} would also match other case variants"
            )
    return None


def _test(tree: Node, attribute: str) -> str:
    pattern = render(tree, FLAVOUR).replace('"', '`"')
    return f'user.{attribute} -match "^(?:{pattern})$"'


def group_rules(
    plan: list[PlannedRow], default_group: str, attribute: str, multiple_groups: bool
) -> list[GroupRule]:
    rules = []
    for group, clauses in group_clauses(plan, default_group, multiple_groups).items():
        parts = [_clause(c, attribute) for c in clauses]
        rules.append(GroupRule(group, " -or ".join(parts)))
    return rules


def _clause(clause: Clause, attribute: str) -> str:
    unless = " -or ".join(f"({_test(p.tree, attribute)})" for p in clause.unless)
    if clause.row is None:
        return f"-not ({unless or _test(Chars(CharSet()), attribute)})"
    test = f"({_test(clause.row.tree, attribute)})"
    return f"({test} -and -not ({unless}))" if unless else test
