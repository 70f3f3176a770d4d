"""Microsoft Entra ID attribute-mapping expression ("Reference for writing expressions for
attribute mappings"): one expression whose value is the user's group.

Only documented functions: Switch (a case-sensitive comparison, per the page) and Replace
with a regexPattern (.NET regular expressions, case-sensitive). A row is tested by
replacing a whole-value match with "" and switching on "": the value itself is never ""
there, because the outer Switch sends an empty attribute to the default group first. Runs
of equals rows (case-sensitive, no separator) are one Switch on the stripped value.
"""

from __future__ import annotations

from app.core.idp_rules.charsets import WHITESPACE
from app.core.idp_rules.model import PlannedRow
from app.core.idp_rules.regex_ast import Chars, Repeat
from app.core.idp_rules.render import Flavour, render
from app.core.mapping import MatchKind

LIMIT = 10_000
FLAVOUR = Flavour.DOTNET
DEFAULT_ATTRIBUTE = "department"


def string(text: str) -> str:
    """A string constant: backslash and quotation mark escaped with a backslash."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _stripped(attribute: str) -> str:
    blank = render(Repeat(Chars(WHITESPACE), 1, None), FLAVOUR)
    return f"Replace([{attribute}], , {string(f'^{blank}|{blank}$')}, , \"\", , )"


def expression(
    plan: list[PlannedRow], default_group: str, attribute: str, ignore_case: bool,
    separator: str,
) -> str:
    """The whole expression; an empty string is the value for users with no group."""
    fallback = string(default_group)
    body = fallback
    i = len(plan)
    while i > 0:
        run_start = i
        while (
            run_start > 0 and not ignore_case and not separator
            and plan[run_start - 1].row.kind == MatchKind.EQUALS
        ):
            run_start -= 1
        if run_start < i:
            body = _switch_run(plan[run_start:i], body, attribute)
            i = run_start
            continue
        planned = plan[i - 1]
        test = render(planned.tree, FLAVOUR)
        replaced = f"Replace([{attribute}], , {string(f'^(?:{test})$')}, , \"\", , )"
        body = f"Switch({replaced}, {body}, \"\", {string(planned.group)})"
        i -= 1
    return f"Switch([{attribute}], {body}, \"\", {fallback})"


def _switch_run(run: list[PlannedRow], rest: str, attribute: str) -> str:
    pairs: dict[str, str] = {}
    for planned in run:
        pairs.setdefault(planned.row.value.strip(), planned.group)  # first row wins
    cases = ", ".join(f"{string(k)}, {string(g)}" for k, g in pairs.items())
    return f"Switch({_stripped(attribute)}, {rest}, {cases})"
