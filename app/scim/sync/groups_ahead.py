"""The group list's first page, asked for as the user pages end, before the users are resolved.

A sync reads the user pages, resolves the export's users, then lists the groups. The wait
for the group list would start only after GroupMap's own work on the users; asked for as
the user pages end, it is built while GroupMap resolves them. Not earlier: beside a user
page, on a server that builds pages one at a time, it would only slow both. Only the first
page is read ahead: the pages after it are asked for when the group reads take them
(app/scim/sync/group_reads.py).
"""

from __future__ import annotations

from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from app.scim.http.client import ScimClient

ListPage = tuple[list[dict[str, Any]], int]  # resources, totalResults


class GroupListAhead:
    """The group list's page walk, its first page under way in a thread of its own."""

    def __init__(self, client: ScimClient, concurrency: int) -> None:
        self._walk = client.iter_pages("/Groups", parallel=concurrency)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="groupmap-groups")
        self._first: Future[ListPage | None] = self._pool.submit(next, self._walk, None)
        self._taken = False

    def pages(self) -> Generator[ListPage]:
        """The walk's pages in order, the first as it came (its error raised here); once."""
        if self._taken:
            raise RuntimeError("the group list read ahead was taken already")
        self._taken = True
        return self._pages()

    def _pages(self) -> Generator[ListPage]:
        try:
            first = self._first.result()
            if first is None:
                return
            yield first
            yield from self._walk
        finally:
            self.close()

    def close(self) -> None:
        """Wait for the page under way (bounded by the request deadline), end the walk."""
        self._pool.shutdown(wait=True)
        self._walk.close()
