"""Progress of a read of the server: pages read of pages known, and Cancel between pages.

The user pages, the group pages and the single group reads are counted alike (each is one
request), so the app's Refresh shows one count that grows as the reads become known: the
user pages once the first says totalResults, then the group pages, then the groups that
must be read one by one.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.scim.config.settings import SyncProgress
from app.scim.http.errors import SyncCancelled


class ReadProgress:
    """Counts reads done and known; reports them and stops a cancelled read (thread-safe)."""

    def __init__(
        self,
        report: Callable[[SyncProgress], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> None:
        self._report, self._cancelled = report, cancelled
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.done = 0
        self.known = 0

    def expect(self, reads: int) -> None:
        """More reads became known (pages a list's total implies, groups to read singly), or
        fewer (negative: lookups that replace the pages left)."""
        with self._lock:
            self.known = max(self.done, self.known + reads)
        self._send()

    def read(self, reads: int = 1) -> None:
        """Reads done; then stop if the admin cancelled (so a cancel ends within one page)."""
        with self._lock:
            self.done += reads
            self.known = max(self.known, self.done)
        self._send()
        self.check()

    def check(self) -> None:
        if self.is_cancelled():
            raise SyncCancelled("cancelled while reading the server; nothing was written")

    def is_cancelled(self) -> bool:
        return self._cancelled is not None and self._cancelled()

    def _send(self) -> None:
        if self._report is not None:
            elapsed = time.monotonic() - self._started
            self._report(SyncProgress(self.done, max(self.known, self.done), elapsed, "read"))
