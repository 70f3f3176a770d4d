"""The open document: the export's users, the mapping being edited, and their evaluation.

Everything the window shows derives from here. Setting the users or the mapping re-evaluates
at once (the engine takes milliseconds on factorized profiles) and emits the change signals,
so models never compute a rule themselves.

Two lists of users: `export_users`, as read from the files, and `users`, what the preview
shows, whose "before" is the server's once a refresh has read it
(`set_current_groups_from_server`). `exportChanged` says the export itself was replaced;
`usersChanged` follows either change.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping as AbcMapping
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from app.core.engine import Evaluation, evaluate
from app.core.mapping import Mapping
from app.core.mapping_warnings import mapping_warnings
from app.core.users import UserList
from app.core.warnings import Warning, find_warnings
from app.scim.http.redact import redact_url

if TYPE_CHECKING:
    from app.scim.sync.listed_users import ListedUsers
    from app.sources.users import SourceInfo


class Document(QObject):
    """Users + mapping + evaluation, with signals; the single source of truth of the window."""

    usersChanged = Signal()
    exportChanged = Signal()  # after usersChanged, when set_users replaced the export itself
    mappingChanged = Signal()
    evaluationChanged = Signal()
    dirtyChanged = Signal(bool)
    draftPathChanged = Signal()
    serverGroupsChanged = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._users: UserList | None = None
        self._export_users: UserList | None = None
        self._mapping = Mapping()
        self._evaluation: Evaluation | None = None
        self._warnings: list[Warning] = []
        self._draft_path: Path | None = None
        self._dirty = False
        self.export_paths: list[Path] = []
        self._server_groups: tuple[str, ...] = ()
        self._listing: tuple[str, ListedUsers] | None = None  # set_users(listing=)
        self.source: SourceInfo | None = None  # set_users(source=)

    # --- state ---------------------------------------------------------------------------

    @property
    def users(self) -> UserList | None:
        """What the preview shows: the export, with the server's "before" after a refresh."""
        return self._users

    @property
    def export_users(self) -> UserList | None:
        """The users as read from the export files, before the server's groups replaced
        their current groups (what a sync plans from)."""
        return self._export_users

    @property
    def mapping(self) -> Mapping:
        return self._mapping

    @property
    def evaluation(self) -> Evaluation | None:
        """None until an export is open."""
        return self._evaluation

    @property
    def warnings(self) -> list[Warning]:
        """find_warnings of the current evaluation (empty without an export)."""
        return self._warnings

    @property
    def draft_path(self) -> Path | None:
        return self._draft_path

    @draft_path.setter
    def draft_path(self, path: Path | None) -> None:
        self._draft_path = Path(path) if path else None
        self.draftPathChanged.emit()

    @property
    def dirty(self) -> bool:
        """True when the mapping differs from the saved draft."""
        return self._dirty

    @dirty.setter
    def dirty(self, value: bool) -> None:
        if value != self._dirty:
            self._dirty = value
            self.dirtyChanged.emit(value)

    @property
    def server_groups(self) -> tuple[str, ...]:
        """Every group on the connected server, once read (empty before a refresh)."""
        return self._server_groups

    def new_groups(self) -> list[str]:
        """The mapping's groups that do not exist yet, from what is known: the export's
        groups and the server's (nothing is known without either)."""
        if self._evaluation is not None:
            return self._evaluation.new_groups()
        return self._mapping.new_groups(self._server_groups) if self._server_groups else []

    @property
    def draft_name(self) -> str:
        return self._draft_path.name if self._draft_path else "Untitled"

    # --- changes -------------------------------------------------------------------------

    def set_users(
        self, users: UserList | None, export_paths: Iterable[Path] = (),
        listing: tuple[str, ListedUsers] | None = None,
        source: SourceInfo | None = None,
    ) -> None:
        """Replace the export (None closes it); re-evaluates and emits. `listing`: (the SCIM
        base URL, its /Users as a `scim:` source just listed them) for the next read of
        that server (`take_listing`); `source`: the live source the users were read from,
        for the sync's journal."""
        self._export_users = users
        self._listing = listing if users is not None else None
        self.source = source if users is not None else None
        self.export_paths = [Path(p) for p in export_paths] if users is not None else []
        self._show_users(users, export_changed=True)

    def take_listing(self, url: str) -> ListedUsers | None:
        """The users' own listing of the server at `url`, once: the first read of that server
        after the source takes its users from it instead of listing /Users again; later reads
        list them afresh (the server may have changed since)."""
        listing, self._listing = self._listing, None
        if listing is None or _base(listing[0]) != _base(url):
            return None
        return listing[1]

    def set_mapping(self, mapping: Mapping, *, dirty: bool = True) -> None:
        """Replace the mapping (undo commands call this); re-evaluates and emits."""
        if mapping == self._mapping:
            return
        self._mapping = mapping
        self._evaluate()
        if dirty:
            self.dirty = True
        self.mappingChanged.emit()
        self.evaluationChanged.emit()

    def set_server_groups(self, names: Iterable[str]) -> None:
        """The server's groups, read by Refresh: they exist, so they are not new groups."""
        names = tuple(names)
        if names == self._server_groups:
            return
        self._server_groups = names
        self._evaluate()
        self.serverGroupsChanged.emit()
        self.evaluationChanged.emit()

    def set_current_groups_from_server(
        self, groups_by_email: AbcMapping[str, Iterable[str]]
    ) -> None:
        """Take "before" from the server instead of the export (keyed by email); the export's
        own users stay as read."""
        if self._export_users is None:
            return
        self._show_users(self._export_users.with_current_groups(groups_by_email))

    def _show_users(self, users: UserList | None, export_changed: bool = False) -> None:
        self._users = users
        self._evaluate()
        self.usersChanged.emit()
        if export_changed:
            self.exportChanged.emit()
        self.evaluationChanged.emit()

    def _evaluate(self) -> None:
        if self._users is None:  # what the mapping alone shows (long names, bad patterns)
            self._evaluation, self._warnings = None, mapping_warnings(self._mapping)
            return
        self._evaluation = evaluate(self._users, self._mapping, self._server_groups)
        self._warnings = find_warnings(self._evaluation)


def _base(url: str) -> str:
    """The server a URL names, as a source's listing records it (redacted)."""
    return redact_url(url).rstrip("/")
