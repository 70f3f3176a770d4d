"""The matching engine: the one implementation of the mapping rules.

The preview, the desktop app and the sync all call `evaluate`. It never loops over users:
source cells are split into values once per (separator, case) setting, each row is matched
once against the distinct values (app/core/matching.py: a hash index for equals rows, string
methods, an RE2 set or RE2 patterns over the vocabulary for the other kinds, cached per row), and
every count is computed per profile (users sharing a source cell and a set of current
groups) with numpy.

The rules:
1. Values compare after stripping whitespace; case-sensitive unless `ignore_case`.
   A row matches a value by its kind: equals, starts with, ends with, contains (the row's
   text, stripped and case-folded alike), or pattern (an RE2 regular expression, stripped,
   that must match the whole value; ignoring case if asked). A pattern that does not
   compile, like an incomplete row, is ignored.
2. A cell is one value, unless a separator splits it into several.
3. Row order is priority. One group per user: the first row in mapping order matching any
   value decides. With `multiple_groups`: the groups of every matching row, in row order,
   without repeats.
4. A user matching no row is unmatched, and gets the default group if there is one.
5. Only managed groups (named by rows, plus the default group) ever change.
6. Without `apply_existing`, an "existing" user keeps all their groups: one for whom the
   export lists a current group, or who is (on the server) in a group that is not one of
   their own targets. Every other user with a target joins all their targets, so a user
   that an interrupted sync placed in some of their targets gets the rest on the next run
   (the rule has a fixed point). Offline, where the export is the "before", this reads
   "a user already in any group keeps their groups". With `apply_existing`, a user with a
   target leaves the managed groups that are not their target and joins their target.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from functools import cached_property
from typing import cast

import numpy as np
import pandas as pd

from app.core.mapping import Mapping
from app.core.matching import row_value_pairs
from app.core.users import UserList


class Change(IntEnum):
    UNCHANGED = 0
    ASSIGNED = 1
    MOVED = 2
    REMOVED = 3
    UNMATCHED = 4

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Tokens:
    """The values of every distinct source cell, split and normalized: (cell, value) pairs."""

    pair_cell: np.ndarray
    pair_value: np.ndarray
    vocab: pd.Index  # distinct normalized values
    spelling: np.ndarray  # per value, as first written in the export (stripped, case kept)


def tokens_of(users: UserList, separator: str, ignore_case: bool) -> Tokens:
    """Split and normalize the distinct cells; cached on the user list per setting."""
    cache = users.engine_cache
    key = (separator, ignore_case)
    if key not in cache:
        cache[key] = _tokenize(users.cells, separator, ignore_case)
    return cast(Tokens, cache[key])


def _tokenize(cells: np.ndarray, separator: str, ignore_case: bool) -> Tokens:
    series = pd.Series(cells, dtype=object).astype(str)
    if separator:
        series = series.str.split(separator, regex=False).explode().astype(str)
    spelled = series.str.strip()
    spelled = spelled[spelled != ""]
    normalized = spelled.str.casefold() if ignore_case else spelled
    codes, vocab = pd.factorize(normalized, sort=False)
    _, first = np.unique(codes, return_index=True)
    return Tokens(
        pair_cell=spelled.index.to_numpy(dtype=np.int32),
        pair_value=codes.astype(np.int32),
        vocab=pd.Index(vocab),
        spelling=spelled.to_numpy(dtype=object)[first],
    )


def expand(ptr: np.ndarray, data: np.ndarray, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For CSR lists (ptr, data), the (position in keys, item) pairs of the lists keys select."""
    starts = ptr[keys]
    lengths = ptr[keys + 1] - starts
    owner = np.repeat(np.arange(len(keys), dtype=np.int64), lengths)
    total = int(lengths.sum())
    if total == 0:
        return owner, data[:0]
    offsets = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
    return owner, data[offsets]


def _csr(owner: np.ndarray, values: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(owner, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=ptr[1:])
    return ptr, values[order]


@dataclass(frozen=True)
class GroupSummary:
    name: str
    before: int
    after: int
    added: int
    removed: int
    new: bool
    managed: bool


class Evaluation:
    """Where every user lands and why, for one user list and one mapping."""

    def __init__(
        self, users: UserList, mapping: Mapping, existing_groups: Iterable[str] = ()
    ) -> None:
        self.users = users
        self.mapping = mapping
        self.existing_groups = frozenset(existing_groups)
        """Groups known to exist beyond the export's (the server's, once read)."""
        options = mapping.options
        self.tokens = tokens_of(users, options.separator, options.ignore_case)

        names = dict.fromkeys(users.group_names)
        names.update(dict.fromkeys(mapping.managed_groups()))
        self.group_names: list[str] = list(names)
        code_of = {name: i for i, name in enumerate(self.group_names)}
        n_groups = len(self.group_names)
        self.managed = np.zeros(n_groups, dtype=bool)
        self.managed[[code_of[g] for g in mapping.managed_groups()]] = True

        self.row_group = np.array(
            [code_of[r.group.strip()] if r.is_usable else -1 for r in mapping.rows],
            dtype=np.int64,
        )
        self._index_value_rows(options.separator, options.ignore_case)

        self._match_cells(options.multiple_groups)
        default = mapping.default_group
        target_cell, target_group = self.match_cell, self.row_group[self.match_row]
        if default:
            unmatched_cells = np.flatnonzero(~self.cell_matched).astype(np.int64)
            target_cell = np.concatenate([target_cell, unmatched_cells])
            target_group = np.concatenate(
                [target_group, np.full(len(unmatched_cells), code_of[default], dtype=np.int64)]
            )
        self.cell_target_ptr, self.cell_target = _csr(target_cell, target_group, len(users.cells))
        self._place_profiles(options.apply_existing, n_groups)

    def _index_value_rows(self, separator: str, ignore_case: bool) -> None:
        """Per vocabulary value, the rows matching it (CSR), each row evaluated once and cached."""
        vocab = self.tokens.vocab
        cache = self.users.engine_cache.setdefault(("rows", separator, ignore_case), {})
        codes, rows = row_value_pairs(vocab, self.mapping.rows, ignore_case, cache)
        self.value_rows_ptr, self.value_rows = _csr(codes, rows, len(vocab))
        self.value_matched = np.diff(self.value_rows_ptr) > 0

    def _match_cells(self, multiple_groups: bool) -> None:
        """The matching (cell, row) pairs: the deciding row per cell, or every row in order."""
        tokens = self.tokens
        pair, rows = expand(self.value_rows_ptr, self.value_rows, tokens.pair_value)
        cells = tokens.pair_cell[pair].astype(np.int64)
        order = np.lexsort((rows, cells))
        self.hit_cell, self.hit_row = cells[order], rows[order]
        n_cells = len(self.users.cells)
        self.cell_matched = np.bincount(cells, minlength=n_cells) > 0
        if multiple_groups:
            groups = self.row_group[self.hit_row]
            _, first = np.unique(self.hit_cell * len(self.group_names) + groups, return_index=True)
            keep = np.sort(first)
        else:
            keep = np.flatnonzero(np.r_[True, self.hit_cell[1:] != self.hit_cell[:-1]])
            keep = keep[: len(self.hit_cell)]
        self.match_cell, self.match_row = self.hit_cell[keep], self.hit_row[keep]

    def _place_profiles(self, apply_existing: bool, n_groups: int) -> None:
        users = self.users
        profiles = users.profiles
        set_ptr, set_groups = _groupset_csr(users)
        weight = profiles.weight
        n_profiles = len(profiles)

        before_p, before_g = expand(set_ptr, set_groups, profiles.groupset.astype(np.int64))
        target_p, target_g = expand(
            self.cell_target_ptr, self.cell_target, profiles.cell.astype(np.int64)
        )
        has_target = np.bincount(target_p, minlength=n_profiles) > 0
        before_key = before_p * n_groups + before_g
        outside_targets = ~np.isin(before_key, target_p * n_groups + target_g)
        in_other_group = np.bincount(before_p[outside_targets], minlength=n_profiles) > 0
        existing = profiles.listed | in_other_group
        assigned = has_target & (apply_existing | ~existing)

        keep_before = ~assigned[before_p] | ~self.managed[before_g]
        joins = assigned[target_p]
        target_p, target_g = target_p[joins], target_g[joins]
        target_key = target_p * n_groups + target_g
        is_added = ~np.isin(target_key, before_key)
        is_removed = ~keep_before & ~np.isin(before_key, target_key)

        def per_group(p: np.ndarray, g: np.ndarray) -> np.ndarray:
            return np.bincount(g, weights=weight[p], minlength=n_groups).astype(np.int64)

        after_p = np.concatenate([before_p[keep_before], target_p])
        after_g = np.concatenate([before_g[keep_before], target_g])
        self.before_count = per_group(before_p, before_g)
        self.after_count = per_group(after_p, after_g)
        self.added_count = per_group(target_p[is_added], target_g[is_added])
        self.removed_count = per_group(before_p[is_removed], before_g[is_removed])
        self.after_ptr, self.after_groups = _csr(after_p, after_g, n_profiles)
        self._added_pairs = (target_p[is_added], target_g[is_added])
        self._removed_pairs = (before_p[is_removed], before_g[is_removed])

        gained = np.bincount(target_p[is_added], minlength=n_profiles) > 0
        lost = np.bincount(before_p[is_removed], minlength=n_profiles) > 0
        matched = self.cell_matched[profiles.cell]
        change = np.full(n_profiles, Change.UNCHANGED, dtype=np.int8)
        change[gained & ~lost] = Change.ASSIGNED
        change[gained & lost] = Change.MOVED
        change[~gained & lost] = Change.REMOVED
        change[~matched & ~has_target] = Change.UNMATCHED
        self.profile_change = change
        self.profile_assigned = assigned
        self.profile_matched = matched

    # --- totals -------------------------------------------------------------------------

    @property
    def user_count(self) -> int:
        return len(self.users)

    @cached_property
    def unmatched(self) -> int:
        """Users matching no row (rule 4), counted whether or not a default group exists."""
        return int(self.users.profiles.weight[~self.profile_matched].sum())

    @cached_property
    def changed_profiles(self) -> np.ndarray:
        """Per profile: its set of groups differs between before and after (a "change")."""
        changed: np.ndarray = np.isin(
            self.profile_change, [Change.ASSIGNED, Change.MOVED, Change.REMOVED]
        )
        return changed

    @cached_property
    def unmatched_profiles(self) -> np.ndarray:
        """Per profile: no row matches its value (rule 4)."""
        unmatched: np.ndarray = ~self.profile_matched
        return unmatched

    def profiles_landing_in(self, groups: list[str]) -> np.ndarray:
        """Per profile: it is in one of these groups after the mapping applies."""
        codes = [self.group_names.index(g) for g in groups if g in self.group_names]
        n_profiles = len(self.users.profiles)
        owner = np.repeat(np.arange(n_profiles), np.diff(self.after_ptr))
        mask = np.zeros(n_profiles, dtype=bool)
        mask[owner[np.isin(self.after_groups, codes)]] = True
        return mask

    def profiles_in_group(self, group: str) -> np.ndarray:
        """Per profile: in the group before or after (a group's users, as the summary lists)."""
        users = self.users
        in_set = np.array([group in s for s in users.groupsets] or [False], dtype=bool)
        before = in_set[users.profiles.groupset] if len(users.groupsets) else in_set[:0]
        landing: np.ndarray = before | self.profiles_landing_in([group])
        return landing

    def profiles_in_new_groups(self) -> np.ndarray:
        """Per profile: it lands in a group that does not exist yet (new_groups)."""
        return self.profiles_landing_in(self.new_groups())

    @cached_property
    def changes(self) -> int:
        """Users whose set of groups differs between before and after."""
        changed = self.changed_profiles
        return int(self.users.profiles.weight[changed].sum())

    def group_summaries(self) -> list[GroupSummary]:
        """Every group someone holds before or after, sorted by name."""
        held = np.flatnonzero((self.before_count > 0) | (self.after_count > 0))
        new = set(self.new_groups())
        rows = [
            GroupSummary(
                name=self.group_names[g],
                before=int(self.before_count[g]),
                after=int(self.after_count[g]),
                added=int(self.added_count[g]),
                removed=int(self.removed_count[g]),
                new=self.group_names[g] in new,
                managed=bool(self.managed[g]),
            )
            for g in held
        ]
        return sorted(rows, key=lambda s: s.name)

    def new_groups(self) -> list[str]:
        """Managed groups that do not exist yet: no user holds them before, and they are not
        among the groups known to exist (Mapping.new_groups)."""
        held = [name for g, name in enumerate(self.group_names) if self.before_count[g] > 0]
        return self.mapping.new_groups([*held, *self.existing_groups])

    def row_user_counts(self) -> np.ndarray:
        """Per mapping row, the users whose target it decides (every matching row, with
        multiple groups)."""
        weights = self.users.cell_weights[self.match_cell]
        return np.bincount(
            self.match_row, weights=weights, minlength=len(self.mapping.rows)
        ).astype(np.int64)

    def value_user_counts(self) -> np.ndarray:
        """Per distinct normalized export value (tokens.vocab), the users holding it."""
        weights = self.users.cell_weights[self.tokens.pair_cell]
        return np.bincount(
            self.tokens.pair_value, weights=weights, minlength=len(self.tokens.vocab)
        ).astype(np.int64)

    def unmatched_values(self) -> list[tuple[str, int]]:
        """Export values no row matches, as first spelled, with their users, most users first."""
        counts = self.value_user_counts()
        codes = np.flatnonzero(~self.value_matched)
        codes = codes[np.argsort(-counts[codes], kind="stable")]
        return [(str(self.tokens.spelling[c]), int(counts[c])) for c in codes]

    # --- per user ----------------------------------------------------------------------

    @cached_property
    def user_change(self) -> np.ndarray:
        change: np.ndarray = self.profile_change[self.users.profiles.of_user]
        return change

    def profile_after(self, profile: int) -> tuple[str, ...]:
        groups = self.after_groups[self.after_ptr[profile] : self.after_ptr[profile + 1]]
        return tuple(self.group_names[g] for g in groups)

    def user_after(self, user: int) -> tuple[str, ...]:
        return self.profile_after(int(self.users.profiles.of_user[user]))

    def user_reason(self, user: int) -> str:
        return self.profile_reason(int(self.users.profiles.of_user[user]))

    def deciding_rows(self, cell: int) -> list[int]:
        """0-based rows that decide a cell's target (one in one-group mode)."""
        lo, hi = np.searchsorted(self.match_cell, [cell, cell + 1])
        return [int(r) for r in self.match_row[lo:hi]]

    def profile_reason(self, profile: int) -> str:
        profiles = self.users.profiles
        cell = int(profiles.cell[profile])
        raw = str(self.users.cells[cell]).strip()
        rows = self.deciding_rows(cell)
        if rows:
            parts = [
                f"{self.mapping.rows[r].describe()} -> {self.mapping.rows[r].group.strip()}"
                for r in rows
            ]
            label = "row" if len(rows) == 1 else "rows"
            numbers = ", ".join(str(r + 1) for r in rows)
            reason = f"{label} {numbers}: {'; '.join(parts)}"
        elif self.mapping.default_group:
            reason = f"default group (no row matches {raw!r})" if raw else "default group"
        else:
            return f"no row matches {raw!r}" if raw else "blank value in the export"
        if not self.profile_assigned[profile]:
            reason += "; kept current groups (already in a group, apply to existing is off)"
        return reason

    def changes_by_group(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per managed group, the users (ascending indices) to add and to remove.

        Users are gathered per profile through a CSR index, so the cost follows the changes,
        not users times groups.
        """
        of_user = self.users.profiles.of_user
        ptr, users_by_profile = _csr(of_user, np.arange(len(of_user)), len(self.users.profiles))

        def users_of(pairs: tuple[np.ndarray, np.ndarray], group: int) -> np.ndarray:
            _, users = expand(ptr, users_by_profile, pairs[0][pairs[1] == group])
            return np.sort(users)

        return {
            self.group_names[g]: (users_of(self._added_pairs, g), users_of(self._removed_pairs, g))
            for g in map(int, np.flatnonzero(self.managed))
        }


def _groupset_csr(users: UserList) -> tuple[np.ndarray, np.ndarray]:
    """Current group sets as CSR lists of codes into users.group_names (cached)."""
    cache = users.engine_cache
    if "groupsets" not in cache:
        code_of = {name: i for i, name in enumerate(users.group_names)}
        lengths = [len(s) for s in users.groupsets]
        ptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=ptr[1:])
        data = np.fromiter(
            (code_of[g] for s in users.groupsets for g in s), dtype=np.int64, count=int(ptr[-1])
        )
        cache["groupsets"] = (ptr, data)
    return cast(tuple[np.ndarray, np.ndarray], cache["groupsets"])


def evaluate(users: UserList, mapping: Mapping, existing_groups: Iterable[str] = ()) -> Evaluation:
    """Where every user lands and why; existing_groups: groups known to exist (the server's)."""
    return Evaluation(users, mapping, existing_groups)
