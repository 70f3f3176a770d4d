"""The preview export: what a mapping would do to an export, for review before syncing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from app.core.engine import Evaluation
from app.core.report import problem_rows, summary_rows, user_rows
from app.core.warnings import Warning
from app.io.writers import output_kind, write_table, write_workbook


def write_preview(
    path: str | Path,
    evaluation: Evaluation,
    warnings: Sequence[Warning],
    progress: Callable[[float], None] | None = None,
) -> None:
    """.xlsx: sheets Summary, Users and Problems. .csv: the Users table only."""
    path = Path(path)
    kind = output_kind(path)  # a .pdf is refused, never written as a workbook
    users = user_rows(evaluation)
    if kind == "csv":
        write_table(path, users, progress=progress)
        return
    sheets = {
        "Summary": summary_rows(evaluation),
        "Users": users,
        "Problems": problem_rows(list(warnings)),
    }
    write_workbook(path, sheets, progress)
