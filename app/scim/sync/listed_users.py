"""The server's users as a `scim:` source has just listed them, for the sync to the same
server: its state is read from this listing rather than by listing /Users a second time
(app/scim/sync/state.py)."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ListedUsers:
    """Every resource of GET /Users (with `attributes`) and the totalResults it gave."""

    resources: list[dict[str, Any]]
    total: int
    attributes: tuple[str, ...]  # what the listing asked for

    def covers(self, needed: list[str]) -> bool:
        have = {name.lower() for name in self.attributes}
        return all(name.lower() in have for name in needed)

    def pages(self) -> Generator[tuple[list[dict[str, Any]], int]]:
        """The listing as one page, in the shape ScimClient.iter_pages gives."""
        yield self.resources, self.total
