"""What `groupmap rules` produces: the formats, the rules or expression, notes, refusals."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.core.idp_rules.regex_ast import Node
from app.core.mapping import MappingRow


class Format(StrEnum):
    ENTRA_EXPRESSION = "entra-expression"
    OKTA_EXPRESSION = "okta-expression"
    ENTRA_DYNAMIC = "entra-dynamic"
    OKTA_GROUP_RULES = "okta-group-rules"
    GOOGLE_DYNAMIC = "google-dynamic"

    @property
    def per_group(self) -> bool:
        """One rule per group (True) or one expression whose value is the group (False)."""
        return self not in (Format.ENTRA_EXPRESSION, Format.OKTA_EXPRESSION)


@dataclass(frozen=True)
class PlannedRow:
    """A usable mapping row with its exact regex (over the whole raw attribute value)."""

    number: int  # 1-based, as the preview's reasons count rows
    row: MappingRow
    tree: Node

    @property
    def group(self) -> str:
        return self.row.group.strip()


@dataclass(frozen=True)
class Refusal:
    """Why the output would not be exact: a row (number) or the whole mapping (None)."""

    row: int | None
    reason: str
    carried_by: tuple[str, ...] = ()

    def line(self) -> str:
        where = f"row {self.row}" if self.row is not None else "mapping"
        carried = (
            f" Formats that carry it exactly: {', '.join(self.carried_by)}."
            if self.carried_by else ""
        )
        return f"{where}: {self.reason}.{carried}"


@dataclass(frozen=True)
class GroupRule:
    group: str
    rule: str


@dataclass
class Rules:
    """The generated text, its limit, and why it is not exact (refusals, or with
    --approximate the notes saying what differs)."""

    format: Format
    attribute: str
    expression: str = ""
    rules: list[GroupRule] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    refusals: list[Refusal] = field(default_factory=list)
    limit: int | None = None
    approximated: dict[int, str] = field(default_factory=dict)
    """Rows written approximately (number -> what differs), for the users affected."""
    plan: list[PlannedRow] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return not self.refusals

    def texts(self) -> list[str]:
        return [r.rule for r in self.rules] if self.format.per_group else [self.expression]

    def longest(self) -> int:
        return max((len(t) for t in self.texts()), default=0)

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"format": str(self.format), "attribute": self.attribute}
        if self.format.per_group:
            data["rules"] = [{"group": r.group, "rule": r.rule} for r in self.rules]
        else:
            data["expression"] = self.expression
        data["notes"] = list(self.notes)
        return data
