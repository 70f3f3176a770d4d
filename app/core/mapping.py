"""The mapping table and its options: what the admin edits, saves as a draft and syncs."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from app.core.users import DEFAULT_SOURCE_COLUMN

GROUP_NAME_LIMIT = 50  # Calendly caps group names at 50 characters.


@dataclass(frozen=True)
class MappingRow:
    """One line of the table: users whose source value equals `value` land in `group`."""

    value: str
    group: str

    @property
    def is_complete(self) -> bool:
        return bool(self.value.strip()) and bool(self.group.strip())


@dataclass(frozen=True)
class Options:
    """How values are compared and how targets apply; the defaults are Calendly's behaviour."""

    source_column: str = DEFAULT_SOURCE_COLUMN
    default_group: str = ""
    ignore_case: bool = False
    separator: str = ""
    multiple_groups: bool = False
    apply_existing: bool = False


@dataclass(frozen=True)
class Mapping:
    """The rows, in priority order, and the options."""

    rows: tuple[MappingRow, ...] = ()
    options: Options = field(default_factory=Options)

    def with_rows(self, rows: list[MappingRow] | tuple[MappingRow, ...]) -> Mapping:
        return replace(self, rows=tuple(rows))

    def with_options(self, **changes: Any) -> Mapping:
        return replace(self, options=replace(self.options, **changes))

    @property
    def default_group(self) -> str:
        return self.options.default_group.strip()

    def managed_groups(self) -> list[str]:
        """The groups this mapping may change: those its rows name, plus the default group.

        Memberships of any other group are never touched.
        """
        names: dict[str, None] = {}
        for row in self.rows:
            if row.is_complete:
                names.setdefault(row.group.strip(), None)
        if self.default_group:
            names.setdefault(self.default_group, None)
        return list(names)


def normalize_value(value: str, ignore_case: bool) -> str:
    """The one comparison rule for source values and row values: strip, then fold case if asked."""
    value = value.strip()
    return value.casefold() if ignore_case else value


def loose_key(value: str) -> str:
    """A key that ignores case and all whitespace: used only to suggest near-misses."""
    return "".join(value.split()).casefold()
