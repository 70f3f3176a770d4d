"""File ▸ Open From for one window: the dialog, every user of a live source read in the
background (the status bar's progress and Cancel), and the source the users came from, which
a saved draft remembers (never its token) and Read the Source Again re-reads.

`FileController` owns one (`window.files.live`) and shares the task key of an export read
with it: opening a file while a source is read supersedes the read, and the other way round.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from app.core.users import UserList
from app.scim.http.redact import REDACTED, redact_url
from app.sources.users import SourceInfo
from app.ui.base.document import Document
from app.ui.base.worker import TaskRunner
from app.ui.files.live_source_dialog import LiveRequest, LiveSourceDialog, read_task
from app.ui.mapping.commands import MappingEditor

if TYPE_CHECKING:
    from app.scim.sync.listed_users import ListedUsers

READ_EXPORT = "read-export"  # the key of an export read: opening another supersedes it
WAIT = "Wait for the running task, or cancel it."


class LiveReads:
    """Reading users from a live source into the window's document."""

    def __init__(
        self, document: Document, editor: MappingEditor, tasks: TaskRunner, parent: QWidget,
        say: Callable[[str, int], None], show_error: Callable[[str, Path | None, str], None],
    ) -> None:
        self.document = document
        self.editor = editor
        self.tasks = tasks
        self.parent = parent
        self.say = say
        self.show_error = show_error
        self.dialog: LiveSourceDialog | None = None  # the last File ▸ Open From dialog
        self.source: LiveRequest | None = None  # where the open users came from (no token)

    def open_from(self, kind: str) -> LiveSourceDialog:
        """The dialog (not modal); reading starts when the admin picks an attribute."""
        from app.scim.config.connections import read_connections

        saved = next((p for p in read_connections() if p.url), None) if kind == "scim" else None
        self.dialog = LiveSourceDialog(kind, self.parent, saved.url if saved else "")
        self.dialog.chosen.connect(self.read)
        self.dialog.open()
        return self.dialog

    def source_dict(self) -> dict[str, str] | None:
        """The live source as a draft saves it (never a token)."""
        if self.source is None:
            return None
        return {"kind": self.source.kind, "url": redact_url(self.source.url),
                "attribute": self.source.attribute,
                "match_attribute": self.source.match_attribute}

    def read_saved(self, source: dict[str, str] | None) -> None:
        """A draft's source (saved or autosaved), read again with the token from the
        environment or keyring. It is the draft's source from now on, so an autosave or a
        save made while it is read (or after the read failed) still holds it."""
        if source is not None:
            self.source = LiveRequest(source["kind"], _real_url(source["url"]), "",
                                      source["attribute"],
                                      source.get("match_attribute", "userName"))
            self.read(self.source)

    def read_again(self) -> None:
        """File ▸ Open From ▸ Read the Source Again: the users as the source holds them now."""
        if self.source is None:
            self.say("The users come from a file, not a live source: open the file again.", 5000)
            return
        self.read(self.source)

    def read(self, request: LiveRequest) -> None:
        """Every user of the source in the background; the result replaces the users as an
        export would (no file), errors change nothing."""
        current = self.tasks.current
        if current is not None and current.key != READ_EXPORT:
            self.say(WAIT, 5000)
            return

        def done(result: tuple[UserList, SourceInfo, ListedUsers | None]) -> None:
            users, info, listing = result
            self.source = replace(request, token="")  # a draft remembers it, never the token
            # autosaved with the source set just above; a scim: listing serves the next read
            self.document.set_users(users, [], (info.url, listing) if listing else None, info)
            if info.separator and not self.document.mapping.options.separator:
                self.editor.set_option("separator", info.separator, "Separator of the source")
            self.say(f"Read {info.describe()}.", 8000)

        def failed(exc: BaseException) -> None:
            self.show_error("Can't read the users", None, str(exc))

        task = self.tasks.start(read_task, request, key=READ_EXPORT,
                                label=f"Reading the users of {redact_url(request.url)}…")
        task.done.connect(done)
        task.error.connect(failed)


def _real_url(url: str) -> str:
    """A draft's source URL as read: a draft keeps it redacted (an API key in the query is
    never saved), so the saved connection to that server gives the real one back."""
    if REDACTED not in url:
        return url
    from app.io.journal import same_server
    from app.scim.config.connections import read_connections

    return next((p.url for p in read_connections() if same_server(p.url, url)), url)
