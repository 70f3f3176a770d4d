"""`groupmap rules`: exit statuses, the JSON shape, --out, refusals and --approximate notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.core.idp_rules import Format, generate
from app.core.mapping import Mapping, MappingRow, Options
from tests.idp_evaluators import entra_expression, okta


@pytest.fixture
def mapping_file(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text(
        "Value in Identity Provider,Group,Match\n"
        'Sales,Sales,\nEng,Engineering,starts with\n"Q ""x"" \\ $",Quoted,\n',
        encoding="utf-8",
    )
    return path


def test_expression_json_shape(mapping_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rules", "--format", "okta-expression", "--mapping", str(mapping_file),
                 "--default-group", "Other", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(data) == {"format", "attribute", "expression", "notes"}
    assert data["attribute"] == "department"
    assert okta.evaluate(data["expression"], {"department": ' Q "x" \\ $ '}) == "Quoted"
    assert okta.evaluate(data["expression"], {"department": None}) == "Other"


def test_per_group_json_shape(mapping_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["rules", "--format", "google-dynamic", "--mapping", str(mapping_file),
                 "--attribute", "cost_center", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert set(data) == {"format", "attribute", "rules", "notes"}
    assert [r["group"] for r in data["rules"]] == ["Sales", "Engineering", "Quoted"]
    assert "org.cost_center.matches" in data["rules"][0]["rule"]


def test_out_writes_the_text(mapping_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "rule.txt"
    assert main(["rules", "--format", "entra-expression", "--mapping", str(mapping_file),
                 "--out", str(out)]) == 0
    expression = out.read_text(encoding="utf-8").strip()
    assert entra_expression.evaluate(expression, {"department": "Engineers"}) == "Engineering"
    assert entra_expression.evaluate(expression, {"department": "sales"}) == ""


def test_refusal_exits_2_with_one_line_per_row(
    mapping_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["rules", "--format", "entra-dynamic", "--mapping", str(mapping_file)])
    err = capsys.readouterr().err
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("row ")]
    assert [line.split(":")[0] for line in lines] == ["row 1", "row 2", "row 3"]
    assert "without regard to case" in lines[0] and "okta-group-rules" in lines[0]


def test_multiple_groups_refused_for_an_expression(
    mapping_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["rules", "--format", "okta-expression", "--mapping", str(mapping_file),
                 "--multiple-groups"])
    assert code == 2
    assert "--multiple-groups" in capsys.readouterr().err


def test_approximate_notes_name_the_affected_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mapping = tmp_path / "m.csv"
    mapping.write_text("Value in Identity Provider,Group,Match\nSales\\d,S,pattern\n")
    users = tmp_path / "u.csv"
    users.write_text("Email,Identity Provider Group\na@x.com,Sales1\nb@x.com,Other\n")
    code = main(["rules", "--format", "okta-group-rules", "--mapping", str(mapping),
                 "--users", str(users), "--approximate", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert any("\\d" in n for n in data["notes"])
    assert any("a@x.com" in n for n in data["notes"])


def test_bad_attribute_is_bad_input(mapping_file: Path) -> None:
    assert main(["rules", "--format", "okta-expression", "--mapping", str(mapping_file),
                 "--attribute", "a b"]) == 2


def test_entra_expression_limit_is_a_refusal() -> None:
    rows = tuple(MappingRow(f"v{i}", "G", "contains") for i in range(120))
    result = generate(Mapping(rows=rows, options=Options()), Format.ENTRA_EXPRESSION)
    assert any("over the limit of 10,000" in r.reason for r in result.refusals)


def test_null_attribute_gets_the_default_group() -> None:
    mapping = Mapping(rows=(MappingRow("Sales", "S"),), options=Options(default_group="D"))
    text = generate(mapping, Format.ENTRA_EXPRESSION).expression
    assert entra_expression.evaluate(text, {}) == "D"


CATASTROPHIC = ["([0-9]+)+", "(1|12)*", "(.*1)+", "([0-9]*-*)*", "((1|12)3)*"]
BACKTRACKING = [Format.ENTRA_EXPRESSION, Format.OKTA_EXPRESSION, Format.ENTRA_DYNAMIC,
                Format.OKTA_GROUP_RULES]


@pytest.mark.parametrize("pattern", CATASTROPHIC)
@pytest.mark.parametrize("fmt", BACKTRACKING)
def test_a_pattern_a_backtracking_target_could_hang_on_is_refused_and_never_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pattern: str, fmt: Format
) -> None:
    mapping = tmp_path / "m.csv"
    mapping.write_text(f"Value in Identity Provider,Group,Match\n{pattern},Risky,pattern\n"
                       "7,Seven,equals\n", encoding="utf-8")
    argv = ["rules", "--format", str(fmt), "--mapping", str(mapping)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "row 1: the pattern repeats a" in err and "which backtracks" in err
    assert "no rule is written for this row" in err and "row 2" not in err
    assert main([*argv, "--approximate", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    written = data["expression"] if "expression" in data else json.dumps(data["rules"])
    assert "Risky" not in written and "Seven" in written
    assert any(n.startswith("Not exact: row 1: the pattern repeats a") for n in data["notes"])


def test_re2_targets_carry_nested_repetition_and_safe_repetitions_are_written() -> None:
    risky = Mapping(rows=(MappingRow("([0-9]+)+", "G", "pattern"),), options=Options())
    assert generate(risky, Format.GOOGLE_DYNAMIC).exact
    refusal = generate(risky, Format.OKTA_GROUP_RULES).refusals[0]
    assert refusal.carried_by == (Format.GOOGLE_DYNAMIC,)
    for safe in ("[a-z]+(-[a-z]+)*", "(a|b)*", "Sales - (EMEA|APAC).*", "([a-z]+-)*x",
                 "(a+b)+", "(ab?)+", "(a{2})+", "(a|a)*"):
        mapping = Mapping(rows=(MappingRow(safe, "G", "pattern"),), options=Options())
        assert generate(mapping, Format.OKTA_EXPRESSION).exact, safe
    doubled = Mapping(rows=(MappingRow("(a|a)*", "G", "pattern"),), options=Options())
    assert "(?:a|a)" not in generate(doubled, Format.OKTA_EXPRESSION).expression  # written a*
