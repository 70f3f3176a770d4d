"""Outputs on a full disk, a read-only folder or a missing folder (issue 11).

Every writer (.csv, .xlsx through xlsxwriter, drafts, mapping exports, previews, the sync
report) says so in one line and leaves the previous file as it was. The full disk is a real
64 KB tmpfs, remounted read-only for the read-only cases, where the tests may mount one.
Elsewhere a full disk is RLIMIT_FSIZE (the kernel fails writes past a size as a full disk
fails them) and a read-only folder is chmod 555, or for root (whom permissions do not stop)
the one call that creates files there failing with EROFS.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import resource
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pytest

from app.cli import main
from app.core.errors import InputError
from app.core.mapping import Mapping, MappingRow
from app.io import check_writable, read_users, save_draft, write_mapping, write_table
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN, expected_groups

FULL_REASONS = ("No space left on device", "File too large")


def _mount(folder: Path, options: str) -> bool:
    if os.geteuid() != 0:
        return False
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                          capture_output=True, check=False)
    return done.returncode == 0


class Disk:
    """A folder whose disk can be filled (or made read-only) after the first files exist."""

    def __init__(self, folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.folder = folder
        self.monkeypatch = monkeypatch
        folder.mkdir()
        self.mounted = _mount(folder, "size=64k,mode=0777")

    @contextlib.contextmanager
    def full(self) -> Iterator[None]:
        """No room left on the disk within the block (an empty file still fits)."""
        if self.mounted:
            filler = self.folder / "filler"
            with open(filler, "wb") as handle, contextlib.suppress(OSError):
                while True:
                    handle.write(b"\0" * 4096)
                    handle.flush()
            try:
                yield
            finally:
                filler.unlink()
            return
        previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (64, limit[1]))
        try:
            yield
        finally:
            resource.setrlimit(resource.RLIMIT_FSIZE, limit)
            signal.signal(signal.SIGXFSZ, previous)

    def make_read_only(self) -> None:
        if self.mounted:
            subprocess.run(["mount", "-o", "remount,ro", str(self.folder)], check=True)
        elif os.geteuid() != 0:
            self.folder.chmod(0o555)
        else:
            real, folder = tempfile.mkstemp, self.folder

            def read_only(*args, **kwargs):
                if Path(kwargs.get("dir") or ".").resolve() == folder.resolve():
                    raise OSError(errno.EROFS, os.strerror(errno.EROFS))
                return real(*args, **kwargs)

            self.monkeypatch.setattr(tempfile, "mkstemp", read_only)

    def files(self) -> list[str]:
        return sorted(p.name for p in self.folder.iterdir() if p.name != "filler")

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)
        else:
            self.folder.chmod(0o755)


@pytest.fixture
def disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Disk]:
    made = Disk(tmp_path / "disk", monkeypatch)
    yield made
    made.close()


BIG = pd.DataFrame({"email": [f"user{i}@example.com" for i in range(20_000)], "n": range(20_000)})
SMALL = pd.DataFrame({"email": ["old@example.com"], "n": [1]})
ROWS = tuple(MappingRow(f"value {i}", f"Group {i}") for i in range(20_000))


def _table(suffix: str) -> Callable[[Path, bool], None]:
    return lambda path, big: write_table(path, BIG if big else SMALL)


def _draft(path: Path, big: bool) -> None:
    save_draft(path, Mapping(ROWS if big else ROWS[:1]))


def _mapping(path: Path, big: bool) -> None:
    write_mapping(path, Mapping(ROWS if big else ROWS[:1]))


WRITERS = {
    "table.csv": _table(".csv"),
    "table.xlsx": _table(".xlsx"),
    "draft.json": _draft,
    "mapping.csv": _mapping,
    "mapping.xlsx": _mapping,
}


def assert_cannot_save(caught: pytest.ExceptionInfo, path: Path, reasons: tuple[str, ...]):
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: cannot save the file (")
    assert any(reason in message for reason in reasons), message
    assert "the previous file, if any, is unchanged" in message


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_full_disk_is_one_line_and_the_previous_file_stays(disk, name):
    path = disk.folder / name
    WRITERS[name](path, False)
    before = path.read_bytes()
    with disk.full(), pytest.raises(InputError) as caught:
        WRITERS[name](path, True)
    assert_cannot_save(caught, path, FULL_REASONS)
    assert path.read_bytes() == before
    assert disk.files() == [name]  # no temporary file left behind


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_read_only_folder_is_one_line_and_the_previous_file_stays(disk, name):
    path = disk.folder / name
    WRITERS[name](path, False)
    before = path.read_bytes()
    disk.make_read_only()
    with pytest.raises(InputError) as caught:
        WRITERS[name](path, True)
    assert_cannot_save(caught, path, ("Read-only file system", "Permission denied"))
    assert path.read_bytes() == before


@pytest.mark.parametrize("name", sorted(WRITERS))
def test_a_missing_folder_is_one_line(tmp_path, name):
    path = tmp_path / "no such folder" / name
    with pytest.raises(InputError) as caught:
        WRITERS[name](path, False)
    assert_cannot_save(caught, path, ("No such file or directory",))


def test_the_write_check_creates_and_removes_one_file_beside_the_target(tmp_path, monkeypatch):
    made: list[tuple[str, Path]] = []
    real = tempfile.mkstemp

    def spy(**kwargs):
        fd, name = real(**kwargs)
        made.append((name, Path(kwargs["dir"])))
        return fd, name

    monkeypatch.setattr(tempfile, "mkstemp", spy)
    (tmp_path / "kept.txt").write_text("x")
    check_writable(tmp_path / "report.csv")
    assert len(made) == 1
    probe, folder = made[0]
    assert folder == tmp_path and Path(probe).name.startswith(".report.csv.")
    assert not Path(probe).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.txt"]
    with pytest.raises(InputError, match="is a directory"):
        check_writable(tmp_path)


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:03d}@ex.com,active,{['sales', 'eng'][i % 2]}," for i in range(20)]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n", encoding="utf-8")
    return tmp_path / "users.csv", tmp_path / "mapping.csv"


def preview(inputs, *extra: str) -> int:
    return main(["preview", "--users", str(inputs[0]), "--mapping", str(inputs[1]), *extra])


@pytest.mark.parametrize("name", ["out.pdf", "out", "out.json"])
def test_preview_refuses_an_extension_it_cannot_write(capsys, tmp_path, inputs, name):
    assert preview(inputs, "--out", str(tmp_path / name)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"--out {name}: can only save as .csv or .xlsx" in err
    assert not (tmp_path / name).exists()


def test_preview_out_on_a_full_disk_or_read_only_folder(capsys, disk, inputs):
    out = disk.folder / "preview.xlsx"
    assert preview(inputs, "--out", str(out)) == 0
    before = out.read_bytes()
    capsys.readouterr()
    with disk.full():
        assert preview(inputs, "--out", str(out)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "preview.xlsx: cannot save the file (" in err
    assert "Traceback" not in err and out.read_bytes() == before
    disk.make_read_only()
    assert preview(inputs, "--out", str(disk.folder / "new.xlsx")) == 2
    err = capsys.readouterr().err
    assert err.startswith("groupmap: error: --out ") and "cannot save the file" in err


@pytest.fixture
def no_backoff(monkeypatch):
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


def sync(inputs, url: str, *extra: str) -> int:
    users, mapping = inputs
    return main(["sync", "--users", str(users), "--mapping", str(mapping), "--url", url, *extra])


def test_sync_report_to_a_read_only_folder_is_refused_before_any_write(
    scim_server, fault_proxy, inputs, disk, monkeypatch, capsys, no_backoff
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    server = scim_server(read_users([inputs[0]]))
    proxy = fault_proxy(server.url)
    disk.make_read_only()
    assert sync(inputs, proxy.url, "--report", str(disk.folder / "report.csv")) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("groupmap: error: --report ")
    assert proxy.count() == 0  # refused before even reading the server
    assert not any(server.dump()["groups"].values())


@pytest.mark.parametrize("as_json", [False, True])
def test_sync_report_failing_after_the_sync_comes_last_with_the_syncs_status(
    scim_server, fault_proxy, inputs, disk, monkeypatch, capsys, no_backoff, as_json
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    users = read_users([inputs[0]])
    server = scim_server(users)

    def refuse(record):
        if record.method == "POST" and record.body.get("displayName") == "Engineering":
            return 400, "group name Engineering is reserved"
        return None

    proxy = fault_proxy(server.url, refuse=refuse)
    report = disk.folder / "report.xlsx"
    extra = ["--json"] if as_json else []
    with disk.full():  # the check before the sync passes (an empty file fits), the report not
        status = sync(inputs, proxy.url, "--report", str(report), *extra)
    assert status == 1  # the sync's own status: one group could not be created
    out, err = capsys.readouterr()
    if as_json:
        assert json.loads(out)["failed"] == 10
    else:
        assert out.startswith("Writing: about 2 requests")  # the estimate, then the summary
        assert "\nCreated 1 group(s), added 10" in out
    lines = [line for line in err.splitlines() if not line.startswith("Writing: ")]  # --json
    assert lines[0].startswith("groupmap: failed: create 'Engineering'")
    assert lines[-1].startswith(f"groupmap: error: --report {report}: cannot save the file (")
    assert lines[-1].endswith("The sync itself is done (summary above).")
    assert not report.exists()
    mapping = Mapping((MappingRow("sales", "Sales"),))
    assert server.dump()["groups"]["Sales"] == expected_groups(users, mapping)["Sales"]
    assert "Engineering" not in server.dump()["groups"]
