"""Atomic file writes: a failed or interrupted write never leaves a half-written file behind.

The data goes to a temporary file in the destination's own folder (so the final rename stays on
one file system), is flushed to disk, then renamed over the destination with os.replace.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from app.core.errors import InputError

_UMASK = os.umask(0o022)
os.umask(_UMASK)


def _fsync_dir(folder: Path) -> None:
    """Make the rename itself durable where the platform allows it (not on Windows)."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path next to `path`; on success it replaces `path`, on error it goes.

    The caller writes the whole file to the yielded path (closing it before the block ends).
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise cannot_save(target, exc) from exc
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_UMASK
        os.chmod(tmp, mode)  # mkstemp makes 0600; keep the usual permissions of a saved file
    except OSError:
        pass
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        if isinstance(exc, OSError):
            raise cannot_save(target, exc) from exc
        raise
    _fsync_dir(folder)


def check_writable(path: str | os.PathLike[str]) -> None:
    """Create and remove a temporary file beside `path`, as a save would: a missing, read-only
    or otherwise unusable folder is refused before any work whose result it would lose."""
    target = Path(path)
    if target.is_dir():
        raise InputError(f"{target}: is a directory; give the name of the file to write.")
    folder = target.parent if str(target.parent) else Path(".")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise cannot_save(target, exc) from exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)


def cannot_save(target: Path, exc: OSError, where: str | None = None) -> InputError:
    """A save that failed (missing folder, no permission, disk full) as one clear line;
    `where` names the temporary folder when the failure was there, not beside the target."""
    reason = exc.strerror or str(exc)
    if where is not None:
        reason += f" in the temporary folder {where}"
    return InputError(
        f"{target}: cannot save the file ({reason}); the previous file, if any, is unchanged. "
        "Choose another folder or free some space and try again."
    )


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically: the old file stays intact if anything fails."""
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        handle.write(data)

