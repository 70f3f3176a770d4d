"""Property: for random mappings of every kind and random values, the generated rules, read
by an evaluator of each target's documented language, give every value the engine's groups,
or generate() refused with a reason."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.core.engine import evaluate
from app.core.idp_rules import Format, generate
from app.core.idp_rules.differences import engine_decision
from app.core.mapping import Mapping, MappingRow, MatchKind, Options
from app.core.users import UserList
from tests.idp_evaluators import cel, entra_dynamic, entra_expression, okta

ALPHABET = list("aAbsSkK -;.()\"'\\$`\t\n") + ["ß", "ẞ", "ſ", "İ", "ı", "i", "I", "é", "É",
                                                "\xa0", "😀", "\u212a", "ﬆ", "0", "7"]
PATTERNS = ["a.*", "[ab]+", "S(a|b)?", "\\d+", "(?i)x", "a{1,2}", ".", "[^a]b", "s", "ss",
            "k*", " a", "a|", "\\(x\\)", "[0-9]+", "é?s", "(a|ß)", ".*s", "😀.", "[😀a]"]
GROUPS = ["G1", "G2", "G'3", 'G"4', "G\\5"]

text = st.text(st.sampled_from(ALPHABET), min_size=1, max_size=4)
rows = st.lists(
    st.one_of(
        st.builds(MappingRow, text, st.sampled_from(GROUPS),
                  st.sampled_from([k for k in MatchKind if k != MatchKind.PATTERN])),
        st.builds(MappingRow, st.sampled_from(PATTERNS), st.sampled_from(GROUPS),
                  st.just(MatchKind.PATTERN)),
    ),
    max_size=4,
)
options = st.builds(
    Options,
    default_group=st.sampled_from(["", "Default"]),
    ignore_case=st.booleans(),
    separator=st.sampled_from(["", ";", "--"]),
    multiple_groups=st.booleans(),
)


def _variants(mapping: Mapping) -> list[str]:
    """Values near the rows' texts: spaced, case-swapped, prefixed, suffixed."""
    out = []
    for row in mapping.rows:
        v = row.value
        out += [v, f"  {v} ", v.swapcase(), v.upper(), f"x{v}", f"{v}y", f"{v};{v}b", "\t"]
    return out


def _decisions(mapping: Mapping, values: list[str]) -> dict[str, tuple[str, ...]]:
    users = UserList.from_records(
        {"email": f"u{i}@x", "name": "", "status": "", "source": v, "groups": ""}
        for i, v in enumerate(values)
    )
    evaluation = evaluate(users, mapping)
    return {str(cell): engine_decision(evaluation, i) for i, cell in enumerate(users.cells)}


def _written(fmt: Format, result: object, value: str) -> tuple[str, ...]:
    if fmt is Format.ENTRA_EXPRESSION:
        got = entra_expression.evaluate(result.expression, {"department": value})  # type: ignore[attr-defined]
        return (got,) if got else ()
    if fmt is Format.OKTA_EXPRESSION:
        got = okta.evaluate(result.expression, {"department": value})  # type: ignore[attr-defined]
        return (got,) if got else ()  # type: ignore[return-value]
    groups = set()
    for rule in result.rules:  # type: ignore[attr-defined]
        if fmt is Format.ENTRA_DYNAMIC:
            hit = entra_dynamic.evaluate(rule.rule, {"department": value})
        elif fmt is Format.OKTA_GROUP_RULES:
            hit = okta.evaluate(rule.rule, {"department": value})
        else:
            hit = cel.evaluate(rule.rule, [{"department": value}])
        if hit:
            groups.add(rule.group)
    return tuple(sorted(groups))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows, options, st.lists(st.text(st.sampled_from(ALPHABET), max_size=6), max_size=8))
def test_rules_give_the_engines_groups_or_refuse(row_list, opts, values) -> None:
    mapping = Mapping(rows=tuple(row_list), options=opts)
    expected = _decisions(mapping, values + _variants(mapping) + ["", "   "])
    for fmt in Format:
        result = generate(mapping, fmt)
        if result.refusals:
            assert all(r.reason for r in result.refusals)
            continue
        for value, groups in expected.items():
            if not fmt.per_group:
                groups = groups[:1] if not opts.multiple_groups else groups
            assert _written(fmt, result, value) == groups, (fmt, value, result.texts())
