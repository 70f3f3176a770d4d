"""The third-party packages GroupMap ships with, and the license each declares.

Used by the About dialog (what the user sees) and by packaging/groupmap.spec (which
metadata to copy into the bundle so the dialog shows the same list when frozen). Walks the
installed requirement tree of the ``groupmap`` distribution; nothing here imports Qt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata

ROOT_DISTRIBUTION = "groupmap"
_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_EXTRA_MARKER = re.compile(r"\bextra\s*==")
_LICENSE_CLASSIFIER = "License :: "


@dataclass(frozen=True)
class PackageLicense:
    name: str
    version: str
    license: str


def canonical(name: str) -> str:
    """PEP 503 normalised name, so 'PySide6_Essentials' and 'pyside6-essentials' match."""
    return re.sub(r"[-_.]+", "-", name).lower()


def license_of(dist: metadata.Distribution) -> str:
    """The declared license: License-Expression, else a short License field, else classifiers."""
    meta = dist.metadata
    expression = (meta.get("License-Expression") or "").strip()
    if expression:
        return expression
    declared = (meta.get("License") or "").strip()
    if declared and "\n" not in declared and len(declared) <= 80:
        return declared
    classifiers = [
        c.split(" :: ")[-1]
        for c in meta.get_all("Classifier") or []
        if c.startswith(_LICENSE_CLASSIFIER)
    ]
    if classifiers:
        return "; ".join(classifiers)
    if declared:
        return declared.splitlines()[0].strip()
    return "unknown (see the package's own files)"


def _requirement_names(dist: metadata.Distribution) -> list[str]:
    """Names of the distribution's unconditional requirements (extras are not shipped)."""
    names = []
    for requirement in dist.requires or []:
        if _EXTRA_MARKER.search(requirement):
            continue
        match = _NAME.match(requirement)
        if match:
            names.append(match.group(1))
    return names


def bundled_distributions(root: str = ROOT_DISTRIBUTION) -> list[metadata.Distribution]:
    """Installed distributions that ``root`` needs at run time, sorted by name, root excluded.

    Requirements whose platform marker excludes this machine are simply not installed, so
    walking what is installed gives the list that a bundle built here contains.
    """
    found: dict[str, metadata.Distribution] = {}
    pending = [root]
    while pending:
        name = canonical(pending.pop())
        if name in found:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        found[name] = dist
        pending.extend(_requirement_names(dist))
    found.pop(canonical(root), None)
    return sorted(found.values(), key=lambda d: canonical(d.metadata["Name"]))


def bundled_packages(root: str = ROOT_DISTRIBUTION) -> list[PackageLicense]:
    """Name, version and license of every package shipped with GroupMap."""
    return [
        PackageLicense(dist.metadata["Name"], dist.version, license_of(dist))
        for dist in bundled_distributions(root)
    ]
