"""Generated exports and mappings for the benchmarks: realistic messiness, reproducible."""

from __future__ import annotations

import numpy as np
import pandas as pd

from app.core.mapping import Mapping, MappingRow, MatchKind, Options
from app.core.users import UserList

BASE_VALUES = 300
MAPPING_ROWS = 200
KIND_ROWS = 40  # of the mapping's rows, those that are not equals in `kinds_mapping`


def base_values(n: int = BASE_VALUES) -> list[str]:
    regions = ["EMEA", "AMER", "APAC", "LATAM", "ANZ"]
    teams = ["Sales", "Engineering", "Support", "Marketing", "Finance", "Legal", "People", "Ops"]
    values = [
        f"{teams[i % len(teams)]}-{regions[i // len(teams) % len(regions)]}-{i}" for i in range(n)
    ]
    return values


def export_frame(n_users: int, seed: int = 1) -> pd.DataFrame:
    """An export of n users: Zipf-like values, case variants, stray spaces, blanks, multi-values."""
    rng = np.random.default_rng(seed)
    values = np.array(base_values(), dtype=object)
    weights = 1.0 / np.arange(1, len(values) + 1) ** 0.8
    picks = rng.choice(len(values), size=n_users, p=weights / weights.sum())
    source = values[picks].copy()
    roll = rng.random(n_users)
    source[roll < 0.05] = np.char.lower(source[roll < 0.05].astype(str))
    spaced = (roll >= 0.05) & (roll < 0.08)
    source[spaced] = np.char.add(" ", source[spaced].astype(str))
    source[(roll >= 0.08) & (roll < 0.10)] = ""
    multi = (roll >= 0.10) & (roll < 0.13)
    second = values[rng.choice(len(values), size=int(multi.sum()))]
    source[multi] = np.char.add(np.char.add(source[multi].astype(str), ";"), second.astype(str))
    groups = np.array([f"Group {i}" for i in range(40)], dtype=object)
    current = np.where(rng.random(n_users) < 0.6, groups[picks % len(groups)], "")
    ids = np.arange(n_users).astype(str)
    return pd.DataFrame(
        {
            "email": np.char.add(np.char.add("user", ids), "@example.com"),
            "name": np.char.add("User ", ids),
            "status": np.where(rng.random(n_users) < 0.9, "active", "pending"),
            "source": source.astype(str),
            "groups": current.astype(str),
        }
    )


def export_users(n_users: int, seed: int = 1) -> UserList:
    return UserList(export_frame(n_users, seed))


def bench_mapping() -> Mapping:
    values = base_values()[:MAPPING_ROWS]
    rows = tuple(MappingRow(v, f"Group {i % 40}") for i, v in enumerate(values))
    return Mapping(rows, Options(default_group="Everyone", separator=";", apply_existing=True))


def kinds_mapping() -> Mapping:
    """`bench_mapping` with every fifth row (40 of 200) starts with, ends with, contains or
    pattern, each matching a few values of the export; the positions are `kind_rows()`."""
    mapping = bench_mapping()
    rows = list(mapping.rows)
    kinds = [MatchKind.STARTS_WITH, MatchKind.ENDS_WITH, MatchKind.CONTAINS, MatchKind.PATTERN]
    for n, i in enumerate(kind_rows()):
        value, kind = rows[i].value, kinds[n % len(kinds)]
        text = {
            MatchKind.STARTS_WITH: value,
            MatchKind.ENDS_WITH: value.split("-", 1)[1],
            MatchKind.CONTAINS: value.split("-", 1)[1],
            MatchKind.PATTERN: value + r"\d?",
        }[kind]
        rows[i] = MappingRow(text, rows[i].group, kind)
    return mapping.with_rows(rows)


def kind_rows() -> list[int]:
    return list(range(0, MAPPING_ROWS, MAPPING_ROWS // KIND_ROWS))
