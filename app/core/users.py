"""The exported user list, factorized once at import so that every later step works on codes.

A user list holds one row per user with five text columns (email, name, status, source,
groups). `groups` is the user's current groups joined by "; ". At construction the source
column and the groups column are factorized: every distinct source cell and every distinct
set of current groups is handled once, and users sharing both (a "profile") are counted
together. The matching engine works on profiles, never on users one by one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from app.core.identity import email_key, email_keys

COLUMNS = ("email", "name", "status", "source", "groups")
GROUP_SEPARATOR = ";"
DEFAULT_SOURCE_COLUMN = "Identity Provider Group"


def split_groups(cell: str) -> tuple[str, ...]:
    """The groups of a "current groups" cell: ';'-separated, stripped, without repeats."""
    seen: dict[str, None] = {}
    for part in cell.split(GROUP_SEPARATOR):
        name = part.strip()
        if name:
            seen.setdefault(name, None)
    return tuple(seen)


def join_groups(groups: Iterable[str]) -> str:
    return "; ".join(groups)


@dataclass(frozen=True)
class Profiles:
    """Users grouped by (source cell, current group set); the unit the engine computes on."""

    cell: np.ndarray  # per profile: code into UserList.cells
    groupset: np.ndarray  # per profile: code into UserList.groupsets
    listed: np.ndarray  # per profile: the export lists a current group for these users
    weight: np.ndarray  # per profile: number of users
    of_user: np.ndarray  # per user: profile code

    def __len__(self) -> int:
        return len(self.cell)


@dataclass
class UserList:
    """The users of one or more exports, combined, with their factorized source and groups."""

    frame: pd.DataFrame
    source_column: str = DEFAULT_SOURCE_COLUMN
    notes: list[dict[str, Any]] = field(default_factory=list)
    export_listed: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Per user, whether the export lists a current group: kept when the current groups
    come from elsewhere (the server); None while they are the export's own."""
    engine_cache: dict[Any, Any] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    """What the engine derives once per list (split values per setting); never edited."""

    def __post_init__(self) -> None:
        missing = [c for c in COLUMNS if c not in self.frame.columns]
        if missing:
            raise ValueError(f"user list lacks columns {missing}")
        self.frame = self.frame.loc[:, list(COLUMNS)].reset_index(drop=True)

    @classmethod
    def from_records(
        cls, records: Iterable[Mapping[str, str]], source_column: str = DEFAULT_SOURCE_COLUMN
    ) -> UserList:
        frame = pd.DataFrame.from_records(list(records), columns=list(COLUMNS))
        return cls(frame.fillna("").astype(str), source_column)

    @classmethod
    def of_emails(cls, emails: Iterable[str], names: Mapping[str, str] | None = None) -> UserList:
        """Users known only by email (and name, when known): a plan replayed from a plan file
        or a journal."""
        named = names or {}
        return cls.from_records(
            {"email": e, "name": named.get(e, ""), "status": "", "source": "", "groups": ""}
            for e in emails
        )

    def __len__(self) -> int:
        return len(self.frame)

    @cached_property
    def _cells(self) -> tuple[np.ndarray, np.ndarray]:
        codes, uniques = pd.factorize(self.frame["source"], sort=False)
        return codes.astype(np.int32), np.asarray(uniques, dtype=object)

    @property
    def cell_codes(self) -> np.ndarray:
        """Per user, the code of their source cell in `cells`."""
        return self._cells[0]

    @property
    def cells(self) -> np.ndarray:
        """The distinct source cells, as written in the export."""
        return self._cells[1]

    @cached_property
    def cell_weights(self) -> np.ndarray:
        return np.bincount(self.cell_codes, minlength=len(self.cells))

    @cached_property
    def _groupsets(self) -> tuple[np.ndarray, list[tuple[str, ...]]]:
        raw_codes, raw_uniques = pd.factorize(self.frame["groups"], sort=False)
        parsed = [split_groups(str(cell)) for cell in raw_uniques]
        canonical: dict[tuple[str, ...], int] = {}
        remap = np.array([canonical.setdefault(p, len(canonical)) for p in parsed], dtype=np.int32)
        codes = remap[raw_codes] if len(raw_codes) else raw_codes.astype(np.int32)
        return codes.astype(np.int32), list(canonical)

    @property
    def groupset_codes(self) -> np.ndarray:
        return self._groupsets[0]

    @property
    def groupsets(self) -> list[tuple[str, ...]]:
        """The distinct sets of current groups, in order of first appearance."""
        return self._groupsets[1]

    @cached_property
    def group_names(self) -> list[str]:
        """Every group some user of the export belongs to today, in order of first appearance."""
        names: dict[str, None] = {}
        for groupset in self.groupsets:
            for name in groupset:
                names.setdefault(name, None)
        return list(names)

    @cached_property
    def listed(self) -> np.ndarray:
        """Per user: the export lists a current group for them (rule 6's "existing")."""
        if self.export_listed is not None:
            return self.export_listed
        in_some = np.array([len(s) > 0 for s in self.groupsets], dtype=bool)
        return in_some[self.groupset_codes] if len(in_some) else np.zeros(len(self), dtype=bool)

    @cached_property
    def profiles(self) -> Profiles:
        n_sets = max(len(self.groupsets), 1)
        key = self.cell_codes.astype(np.int64) * n_sets + self.groupset_codes
        key = key * 2 + self.listed
        uniques, of_user = np.unique(key, return_inverse=True)
        pair = uniques // 2
        return Profiles(
            cell=(pair // n_sets).astype(np.int32),
            groupset=(pair % n_sets).astype(np.int32),
            listed=(uniques % 2).astype(bool),
            weight=np.bincount(of_user, minlength=len(uniques)).astype(np.int64),
            of_user=of_user.astype(np.int32),
        )

    def with_current_groups(self, groups_by_email: Mapping[str, Iterable[str]]) -> UserList:
        """A copy whose current groups come from elsewhere (the SCIM server), keyed by email.

        Emails compare by email_key; a user missing from the mapping is in no group.
        Whether the export listed a current group for each user is kept (rule 6).
        """
        by_key = {email_key(e): join_groups(groups) for e, groups in groups_by_email.items()}
        frame = self.frame.copy()
        frame["groups"] = email_keys(frame["email"]).map(by_key).fillna("").astype(str)
        return UserList(frame, self.source_column, list(self.notes), export_listed=self.listed)
