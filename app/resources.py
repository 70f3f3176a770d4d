"""Find files under resources/ both in the source tree and inside a PyInstaller bundle.

The bundle unpacks (or, one-folder, keeps) its data next to the executable under
``sys._MEIPASS``; from source the folder sits beside the ``app`` package. Every module
that needs an icon or the bundled sample calls :func:`resource_path` instead of
building paths from ``__file__`` so both layouts work.
"""

from __future__ import annotations

import sys
from pathlib import Path


def resources_root() -> Path:
    """The resources/ folder of the running GroupMap (bundle or source tree)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of resources/<parts...>; raises FileNotFoundError naming the missing file."""
    path = resources_root().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"GroupMap resource {'/'.join(parts)!r} is missing (looked in {path}); "
            "reinstall GroupMap or rebuild the bundle with `make package`."
        )
    return path

