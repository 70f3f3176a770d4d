"""Where a save or open dialog starts, per kind of file, and the name it proposes.

Plans, reports, mappings and exports each keep their own last folder (QSettings
"folders/<kind>"): saving a report no longer moves the next export's dialog. A proposed name
says what and where: `plan-staging-2026-12-07.json`, `sync-report-staging-2026-12-07.xlsx`.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from PySide6.QtCore import QSettings

KINDS = ("export", "mapping", "plan", "report")


def folder(kind: str, settings: QSettings | None = None) -> Path:
    """The folder the last `kind` file was chosen in, else the last folder of any, else home."""
    settings = settings or QSettings()
    for key in (f"folders/{kind}", "lastDir"):
        value = settings.value(key)
        if value and Path(str(value)).is_dir():
            return Path(str(value))
    return Path.home()


def remember(kind: str, path: str | Path, settings: QSettings | None = None) -> None:
    settings = settings or QSettings()
    settings.setValue(f"folders/{kind}", str(Path(path).parent))


def proposed_name(what: str, where: str = "", suffix: str = ".xlsx",
                  today: date | None = None) -> str:
    """`what-where-YYYY-MM-DD.suffix`, `where` (a server or file name) reduced to safe
    characters."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", where).strip("-._").lower()
    day = (today or date.today()).isoformat()
    return "-".join(p for p in (what, slug, day) if p) + suffix


def start_path(kind: str, what: str, where: str = "", suffix: str = ".xlsx",
               settings: QSettings | None = None) -> str:
    """The path a save dialog opens with: the kind's folder and a descriptive name."""
    return str(folder(kind, settings) / proposed_name(what, where, suffix))
