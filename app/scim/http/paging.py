"""Walking a SCIM list by startIndex, one page after another or several at once.

Once the first page says totalResults, the start of every other page is known, and up to
`parallel` of them are asked for at once (each request still takes its token from the rate
limiter). Pages are checked in order whatever order they arrive in: a page that only repeats
what came before (a server ignoring startIndex), a page listing one resource twice, an empty
page before the largest totalResults any page said (pages overlapping or skipping, or a list
changing while read: a resource shifted past the walk would be taken for missing), or a walk
longer than the pages max(totalResults, expected) need twice plus 10 (a server paging
forever), is an error. A page
shorter than the first leaves a gap before the next start, so the walk goes on one page after
another from its end. A first page as full as asked whose totalResults is its own length may
be all there is or a server counting only the page: the page after it is read, and the walk
goes on as without totalResults.

Without totalResults (RFC 7644 requires it; some servers leave it out) the walk ends at the
first empty page or the first page shorter than the first, and where nothing says how many
resources to expect (the group list), at UNTOLD_PAGES pages rather than the 10,000 ceiling.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from app.scim.http import answers
from app.scim.http.errors import BadAnswer

Page = tuple[list[dict[str, Any]], list[str], int | None]  # resources, their ids, totalResults
UNTOLD_PAGES = 1_000  # no totalResults and nothing expected: a list longer is paging forever


class PageWalk:
    """One walk's state: what was seen, how many pages, and the bound on them."""

    def __init__(
        self,
        fetch: Callable[[dict[str, Any]], object],
        where: str,
        params: dict[str, Any] | None,
        count: int,
        expected: int,
        max_pages: int,
    ) -> None:
        self._fetch, self.where, self._params = fetch, where, params or {}
        self.count, self.expected, self.limit = count, expected, max_pages
        self.max_pages = max_pages
        self.untold = False  # totalResults found to count one page: read as if not said
        self.seen: set[str] = set()
        self.pages = 0
        self.first = 0  # resources on the first page
        self.most: int | None = None  # the largest totalResults any page said

    def get(self, start: int) -> Page:
        """One page, its JSON types checked (safe to call from several threads)."""
        query = dict(self._params, startIndex=start, count=self.count)
        body = answers.as_object(self._fetch(query) or {}, self.where)
        resources = answers.objects(body.get("Resources"), self.where, "Resources")
        ids = [answers.resource_id(r, self.where, "Resources[].id") for r in resources]
        total = answers.count(body.get("totalResults"), self.where, "totalResults")
        return resources, ids, None if self.untold else total

    def counts_page(self, page: Page) -> bool:
        """A first page as full as asked whose totalResults is its own length: all there is,
        or a server counting the page in totalResults (a common bug); the page after it
        tells (one more request, only then)."""
        resources, _, total = page
        return self.pages == 1 and len(resources) == self.count == total

    def distrust_total(self) -> None:
        """Read on as if no totalResults were said: to an empty or short page, bounded."""
        self.untold, self.most = True, None
        pages = math.ceil(self.expected / self.count) * 2 + 10 if self.expected else UNTOLD_PAGES
        self.limit = min(self.max_pages, pages)

    def accept(self, start: int, page: Page) -> tuple[list[dict[str, Any]], int]:
        """(fresh resources, total to report) of the next page in order, checked."""
        resources, ids, total = page
        if len(set(ids)) < len(ids):
            twice = next(rid for rid in ids if ids.count(rid) > 1)
            raise BadAnswer(
                f"{self.where} the resource {twice!r} twice in one page (startIndex {start}): "
                "GroupMap cannot tell which copy is true, so nothing was changed; "
                "report it to the vendor"
            )
        if total is not None:
            self.most = max(self.most or 0, total)
        fresh = [r for r, rid in zip(resources, ids, strict=True) if rid not in self.seen]
        self.seen.update(ids)
        self.pages += 1
        if self.pages == 1:
            self.first = len(resources)
        if self.pages == 1 and resources and (total is not None or self.expected):
            known = max(total or 0, self.expected)
            self.limit = min(self.limit, math.ceil(known / len(resources)) * 2 + 10)
        elif self.pages == 1 and total is None:
            self.limit = min(self.limit, UNTOLD_PAGES)
        if resources and not fresh:
            raise BadAnswer(
                f"{self.where} the same resources again at startIndex {start} (it ignores "
                "startIndex or repeats pages): GroupMap cannot read every resource on this "
                "server, so nothing was changed; report it to the vendor"
            )
        return fresh, total if total is not None else len(self.seen) + (
            self.count if fresh else 0
        )

    def ended(self, page: Page) -> bool:
        """True at the end of the list; an error past the bound on pages."""
        resources, _, total = page
        if self.most is not None and len(self.seen) >= self.most:
            return True
        if not resources and self.most is not None:
            raise BadAnswer(
                f"{self.where} {len(self.seen):,} resources, then an empty page, where "
                f"totalResults said {self.most:,} (its pages overlap, skip resources, or the "
                "list changed while it was read): GroupMap cannot read every resource, so "
                "nothing was changed; run again, and report it to the vendor if it persists"
            )
        if not resources:
            return True
        if total is None and self.pages > 1 and len(resources) < self.first:
            return True  # no total said: a short page is the last
        if self.pages >= self.limit:
            raise BadAnswer(
                f"{self.where} page after page: {self.pages} pages and {len(self.seen)} "
                "resources"
                + (
                    f" where totalResults says {total}"
                    if total is not None
                    else f", no totalResults, {self.expected:,} looked for"
                    if self.expected
                    else ", no totalResults (RFC 7644 requires it)"
                )
                + " without an end; stopped reading, nothing was changed: report it to "
                "the vendor"
            )
        return False


def walk_pages(walk: PageWalk, parallel: int) -> Generator[tuple[list[dict[str, Any]], int]]:
    """(fresh resources, total) per page, in startIndex order."""
    page = walk.get(1)
    yield walk.accept(1, page)
    start, length, total = 1 + len(page[0]), len(page[0]), page[2]
    if walk.ended(page):
        if not walk.counts_page(page):
            return
        walk.distrust_total()
        total = None
    if parallel > 1 and total is not None:
        starts = iter(range(start, total + 1, length))
        for at, page in _ahead(walk, starts, parallel):
            yield walk.accept(at, page)
            start = at + len(page[0])
            if walk.ended(page):
                return
            if len(page[0]) < length:
                break  # a gap before the next start: one page after another from here
    while True:
        page = walk.get(start)
        yield walk.accept(start, page)
        start += len(page[0])
        if walk.ended(page):
            return


class Window:
    """How many pages to have under way: as many as shorten the walk, no more (TCP Vegas).

    A server that answers requests in parallel answers a page as fast with several under
    way; one that builds them one at a time (or a rate limit) makes each wait for the ones
    before it, and more pages under way only spend the rate limit's burst early and earn
    429s. From the fastest answer seen (`base`) and the latest, the pages waiting at the
    server are estimated as size * (1 - base / latest): under half a page, one more may go;
    over one and a half, one fewer. Two stay under way, so the server never waits for
    GroupMap. The first answer only sets `base`: it was first in line, whatever the server."""

    def __init__(self, most: int) -> None:
        self.most = most
        self.size = min(2, most)
        self.base = math.inf

    def answered(self, seconds: float) -> None:
        """One page's answer took `seconds` from its request (its rate-limit wait included);
        no time at all is a clock too coarse to tell (Windows ticks every 15.6 ms), not a
        base: taken for one, every later answer would look queued, the window held at two."""
        if not seconds > 0:
            return
        first = self.base == math.inf
        self.base = min(self.base, seconds)
        if first:
            return
        waiting = self.size * (1 - self.base / seconds)
        if waiting < 0.5:
            self.size = min(self.most, self.size + 1)
        elif waiting > 1.5:
            self.size = max(min(2, self.most), self.size - 1)


def _ahead(walk: PageWalk, starts: Iterator[int], parallel: int) -> Iterator[tuple[int, Page]]:
    """Pages at the given starts, in order, with up to `parallel` asked for ahead, as many as
    the server's answers show help (Window). More are asked for only when the caller asks for
    the next page, never before it had the last: a read it stops (Cancel, every user found)
    asks for nothing more, and has asked for fewer than `parallel` pages it did not need."""
    pending: deque[tuple[int, Future[tuple[Page, float]]]] = deque()
    window = Window(parallel)
    pool = ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="groupmap-page")

    def timed(at: int) -> tuple[Page, float]:
        began = time.monotonic()
        page = walk.get(at)
        return page, time.monotonic() - began

    def top_up() -> None:
        while len(pending) < window.size:
            at = next(starts, None)
            if at is None:
                return
            pending.append((at, pool.submit(timed, at)))

    try:
        while True:
            top_up()
            if not pending:
                return
            at, future = pending.popleft()
            page, seconds = future.result()
            window.answered(seconds)
            yield at, page
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
