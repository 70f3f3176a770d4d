"""What a table file is for, so that a refusal's advice fits it: a user export is exported
again from the admin console, a mapping or an expectations table is saved again from the
spreadsheet app it was made in."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Role:
    what: str  # "a user export": what the file should be
    again: str  # the remedy, a sentence without its full stop

    @property
    def or_again(self) -> str:
        """The remedy as a sentence's second choice: "..., or export the user list again"."""
        return self.again[0].lower() + self.again[1:]


USERS = Role("a user export", "Export the user list again")
MAPPING = Role("a mapping table", "Save the mapping again from your spreadsheet app")
EXPECTATIONS = Role(
    "an expectations table", "Save the expectations again from your spreadsheet app"
)
TABLE = Role("a table", "Save it again from your spreadsheet app")
