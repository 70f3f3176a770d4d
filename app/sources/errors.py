"""Why a live source could not be read: one line naming the source, what happened and what
to do next. Standard library only, so the command line can catch it without loading httpx."""

from __future__ import annotations

from app.core.errors import InputError


class SourceError(Exception):
    """The source could not be read (network, authentication, a broken answer): nothing was
    written. The command line exits 3, like a server it cannot reach."""


class SourceSpecError(InputError):
    """A `--users KIND:ATTRIBUTE` the admin can fix (unknown kind, no attribute, no URL)."""


class SourceCancelled(SourceError):
    """The admin cancelled the read between two pages; nothing was changed."""
