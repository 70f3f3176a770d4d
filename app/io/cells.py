"""Cell text helpers shared by every reader and writer: header matching and formula safety.

Formula injection: a cell starting with = + - @ (or a tab or carriage return) is run as a
formula by Excel and LibreOffice when a CSV is opened. Following OWASP, such cells are written
to CSV with a leading single quote. To keep write -> read lossless, a text that already starts
with quotes followed by one of those characters gets one more quote, and readers remove exactly
one quote from cells of that shape (`unescape_cell`). In .xlsx files cells are always written as
string cells, which are never evaluated, so no quote is needed there.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")
_NEEDS_QUOTE = r"^'*[=+\-@\t\r]"
_QUOTED = r"^'(?='*[=+\-@\t\r])"


def safe_cell(text: str) -> str:
    """The text to write in a CSV cell so that spreadsheets show it as text, never run it."""
    if text.startswith(FORMULA_STARTS) or _ESCAPED.match(text):
        return "'" + text
    return text


def unescape_cell(text: str) -> str:
    """Undo `safe_cell`: drop the quote it added (and only such a quote)."""
    return text[1:] if _ESCAPED.match(text) else text


def safe_series(series: pd.Series) -> pd.Series:
    """`safe_cell` for a whole column, vectorized."""
    text = series.astype(str)
    risky = text.str.contains(_NEEDS_QUOTE, regex=True)
    if not risky.any():
        return text
    return text.where(~risky, "'" + text)


def unescape_series(series: pd.Series) -> pd.Series:
    """`unescape_cell` for a whole column, vectorized (cheap when no cell starts with a quote)."""
    if not series.str.startswith("'").any():
        return series
    return series.str.replace(_QUOTED, "", n=1, regex=True)


def header_key(name: object) -> str:
    """Headers compare ignoring case and surrounding (and repeated inner) whitespace."""
    return " ".join(str(name).split()).casefold()
