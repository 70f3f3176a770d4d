"""Mapping drafts: the table, its options and expectations as versioned JSON, written atomically.

A draft never holds a secret (no token, no server URL credentials): only rows, options and
expectations. Version 2 added each row's "match" kind and the "expectations"; a version 1
draft opens unchanged (every row equals, no expectations) and is saved as version 2.
"""

from __future__ import annotations

import json
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from app.core.errors import InputError
from app.core.mapping import Expectation, Mapping, MappingRow, MatchKind, Options
from app.io.atomic import atomic_write_bytes
from app.io.limits import MAX_DRAFT_BYTES, decode_json, read_limited, shown

DRAFT_FORMAT = "groupmap-draft"
DRAFT_VERSION = 2
SOURCE_KEYS = ("kind", "url", "attribute", "match_attribute")  # a draft's live source
_KINDS = {kind.value for kind in MatchKind}
_OPTION_TYPES = {f.name: (bool if f.type in ("bool", bool) else str) for f in fields(Options)}


def draft_dict(mapping: Mapping) -> dict[str, Any]:
    return {
        "format": DRAFT_FORMAT,
        "version": DRAFT_VERSION,
        "rows": [
            {"value": row.value, "group": row.group, "match": row.kind.value}
            for row in mapping.rows
        ],
        "options": asdict(mapping.options),
        "expectations": [
            {"subject": e.subject, "groups": list(e.groups)} for e in mapping.expectations
        ],
    }


def save_draft(path: str | Path, mapping: Mapping, source: dict[str, str] | None = None) -> None:
    """Save the mapping as a draft the app and `load_draft` can open again; `source`: the live
    source its users were read from (kind, url, attribute, match_attribute; never a token)."""
    data = draft_dict(mapping)
    if source:
        data["source"] = {k: str(source[k]) for k in SOURCE_KEYS if source.get(k)}
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def load_draft_source(path: str | Path) -> dict[str, str] | None:
    """The live source a draft remembers, or None (none saved, or not a usable one)."""
    path = Path(path)
    try:
        data = decode_json(read_limited(path, MAX_DRAFT_BYTES))
    except (ValueError, InputError):
        return None
    source = data.get("source") if isinstance(data, dict) else None
    if not isinstance(source, dict):
        return None
    found = {k: source[k] for k in SOURCE_KEYS if isinstance(source.get(k), str)}
    return found if {"kind", "url", "attribute"} <= set(found) else None


def _bad(path: Path, problem: str) -> InputError:
    return InputError(f"{path.name}: {problem}. Open a draft saved by GroupMap, or start anew.")


def mapping_from_draft(data: object, path: Path) -> Mapping:
    if not isinstance(data, dict) or data.get("format") != DRAFT_FORMAT:
        raise _bad(path, "not a GroupMap draft")
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _bad(path, f"the draft has an invalid version {shown(version)}")
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
        kind = item.get("match", MatchKind.EQUALS.value)
        if kind not in _KINDS:
            raise _bad(path, f"row {number} of the draft has an unknown match {kind!r}")
        rows.append(MappingRow(item.get("value", ""), item.get("group", ""), MatchKind(kind)))
    options_data = data.get("options", {})
    if not isinstance(options_data, dict):
        raise _bad(path, "the draft's options are damaged")
    options: dict[str, Any] = {}  # each value is checked against its field's type
    for name, kind in _OPTION_TYPES.items():
        if name in options_data:
            value = options_data[name]
            if not isinstance(value, kind):
                raise _bad(path, f"the draft option {name!r} is damaged")
            options[name] = value
    expectations = _expectations_from_draft(data.get("expectations", []), path)
    return Mapping(tuple(rows), Options(**options), expectations)


def _expectations_from_draft(items: object, path: Path) -> tuple[Expectation, ...]:
    if not isinstance(items, list):
        raise _bad(path, "the draft's expectations are damaged")
    found = []
    for number, item in enumerate(items, start=1):
        subject = item.get("subject") if isinstance(item, dict) else None
        groups = item.get("groups", []) if isinstance(item, dict) else None
        if (
            not isinstance(subject, str)
            or not isinstance(groups, list)
            or not all(isinstance(g, str) for g in groups)
        ):
            raise _bad(path, f"expectation {number} of the draft is damaged")
        found.append(Expectation(subject, tuple(groups)))
    return tuple(found)


def load_draft(path: str | Path) -> Mapping:
    """The mapping saved in a draft; InputError for a damaged or newer draft."""
    path = Path(path)
    raw = read_limited(path, MAX_DRAFT_BYTES)  # a regular file, at most 64 MB
    try:
        data = decode_json(raw)
    except ValueError as exc:
        raise _bad(path, f"the draft is damaged ({exc})") from exc
    return mapping_from_draft(data, path)
