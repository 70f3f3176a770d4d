"""The one definition of "the same user" and "the same group name".

Every comparison of two emails or two group names goes through these keys: the export with
the server, the export with itself (duplicates), plans, journals and undo, expectations and
the mapping's near-duplicate group names.

An email's key is its Unicode NFC form, lower-cased (emails compare case-insensitively),
without surrounding spaces. Never `casefold`: "straße@x.com" and "strasse@x.com" are two
accounts. A group name's key also forgets what a reader cannot see: compatibility forms
(NFKC: a full-width "Ｓales" is "Sales"), invisible format characters (zero-width spaces and
joiners, the word joiner, a byte-order mark, a soft hyphen: Unicode category Cf) and how
many spaces separate words. Two different spellings with one key are one group on some
server, so GroupMap never creates both.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the command line imports this module before it needs pandas
    import pandas as pd


def email_key(email: str) -> str:
    """What makes two emails the same user: NFC, lower case, no surrounding spaces."""
    if email.isascii():
        return email.strip().lower()
    nfc = unicodedata.normalize("NFC", email)
    return unicodedata.normalize("NFC", nfc.lower()).strip()


def email_keys(emails: pd.Series) -> pd.Series:
    """email_key of every email of a column, same index; Python runs only for non-ASCII ones."""
    text = emails.astype(str)
    keys = text.str.strip().str.lower()
    odd = ~keys.str.isascii()
    if odd.any():
        keys.loc[odd] = text.loc[odd].map(email_key)
    return keys


def group_key(name: str) -> str:
    """What makes two group names one group: NFKC, no invisible (Cf) characters, lower case,
    spaces collapsed and stripped. "Legal", "legal ", "Le\u200bgal" and "LEGAL" share a key;
    "Straße" and "Strasse" do not."""
    if name.isascii():
        return " ".join(name.split()).lower()
    text = _visible(unicodedata.normalize("NFKC", name))
    return unicodedata.normalize("NFKC", " ".join(text.split()).lower())


def _visible(text: str) -> str:
    """Without format characters (Cf): zero-width spaces and joiners, soft hyphens, BOMs."""
    return "".join(ch for ch in text if unicodedata.category(ch) != "Cf")


def same_name_groups(names: Iterable[str]) -> list[list[str]]:
    """The spellings (stripped, in first-seen order) that share a group key, where more than
    one does: [["Legal", "legal"], ...]."""
    by_key: dict[str, dict[str, None]] = {}
    for name in names:
        spelled = name.strip()
        if spelled:
            by_key.setdefault(group_key(spelled), {}).setdefault(spelled, None)
    return [list(spellings) for spellings in by_key.values() if len(spellings) > 1]


def how_names_differ(a: str, b: str) -> str:
    """In words, what separates two names of one group_key: "case", "an invisible character",
    "Unicode form (NFC/NFD)", "spacing", or several of them."""
    steps = (
        ("Unicode form (NFC/NFD)", lambda s: unicodedata.normalize("NFKC", s)),
        ("an invisible character", _visible),
        ("spacing", lambda s: " ".join(s.split())),
        ("case", str.lower),
    )
    found = []
    for what, step in steps:
        after_a, after_b = step(a), step(b)
        if a != b and (after_a != a or after_b != b):
            found.append(what)
        a, b = after_a, after_b
    return " and ".join(found) or "nothing visible"
