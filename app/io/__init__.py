"""Spreadsheets, mapping files and drafts: everything GroupMap reads from or writes to disk."""

from app.io.atomic import atomic_path, atomic_write_bytes, check_writable
from app.io.cells import safe_cell, unescape_cell
from app.io.drafts import load_draft, save_draft
from app.io.errors import ImportCancelled
from app.io.mappingfile import read_mapping, write_mapping
from app.io.preview import write_preview
from app.io.tables import read_table
from app.io.userfile import read_users
from app.io.writers import check_output, refuse_input, write_table, write_workbook

__all__ = [
    "ImportCancelled",
    "atomic_path",
    "atomic_write_bytes",
    "check_output",
    "refuse_input",
    "check_writable",
    "load_draft",
    "read_mapping",
    "read_table",
    "read_users",
    "safe_cell",
    "save_draft",
    "unescape_cell",
    "write_mapping",
    "write_preview",
    "write_table",
    "write_workbook",
]
