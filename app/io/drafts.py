"""Mapping drafts: the table and its options as versioned JSON, written atomically.

A draft never holds a secret (no token, no server URL credentials): only rows and options.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path

from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow, Options
from app.io.atomic import atomic_write_bytes

DRAFT_FORMAT = "groupmap-draft"
DRAFT_VERSION = 1
_OPTION_TYPES = {f.name: (bool if f.type in ("bool", bool) else str) for f in fields(Options)}


def draft_dict(mapping: Mapping) -> dict:
    return {
        "format": DRAFT_FORMAT,
        "version": DRAFT_VERSION,
        "rows": [{"value": row.value, "group": row.group} for row in mapping.rows],
        "options": asdict(mapping.options),
    }


def save_draft(path: str | Path, mapping: Mapping) -> None:
    """Save the mapping as a draft the app and `load_draft` can open again."""
    text = json.dumps(draft_dict(mapping), ensure_ascii=False, indent=2) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def _bad(path: Path, problem: str) -> InputError:
    return InputError(f"{path.name}: {problem}. Open a draft saved by GroupMap, or start anew.")


def mapping_from_draft(data: object, path: Path) -> Mapping:
    if not isinstance(data, dict) or data.get("format") != DRAFT_FORMAT:
        raise _bad(path, "not a GroupMap draft")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad(path, f"the draft has an invalid version {version!r}")
    if version > DRAFT_VERSION:
        raise InputError(
            f"{path.name}: this draft was saved by a newer GroupMap (draft version {version}; "
            f"this one reads version {DRAFT_VERSION}). Update GroupMap to open it."
        )
    rows_data = data.get("rows", [])
    if not isinstance(rows_data, list):
        raise _bad(path, "the draft's rows are damaged")
    rows = []
    for number, item in enumerate(rows_data, start=1):
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k, ""), str) for k in ("value", "group")
        ):
            raise _bad(path, f"row {number} of the draft is damaged")
        rows.append(MappingRow(item.get("value", ""), item.get("group", "")))
    options_data = data.get("options", {})
    if not isinstance(options_data, dict):
        raise _bad(path, "the draft's options are damaged")
    options = {}
    for name, kind in _OPTION_TYPES.items():
        if name in options_data:
            value = options_data[name]
            if not isinstance(value, kind):
                raise _bad(path, f"the draft option {name!r} is damaged")
            options[name] = value
    return Mapping(tuple(rows), Options(**options))


def load_draft(path: str | Path) -> Mapping:
    """The mapping saved in a draft; InputError for a damaged or newer draft."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise InputError(f"{path}: no such file. Check the path and try again.") from exc
    except OSError as exc:
        raise InputError(f"{path.name}: cannot be read ({exc.strerror}).") from exc
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise _bad(path, f"the draft is damaged (not valid JSON at line {exc.lineno},"
                         f" column {exc.colno}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise _bad(path, "the draft is damaged (not valid JSON)") from exc
    return mapping_from_draft(data, path)
