"""The About dialog and `groupmap --version`: the one version, and the shipped licenses."""

from __future__ import annotations

import subprocess
import sys

import pytest
from PySide6.QtCore import qVersion

import app
from app.cli import main
from app.licenses import PackageLicense, bundled_packages
from app.ui.shell.about import AboutDialog, show_about


def test_version_option_prints_the_package_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"groupmap {app.__version__}"


def test_version_from_the_command_line_matches_the_installed_metadata():
    from importlib.metadata import version

    result = subprocess.run(
        [sys.executable, "-m", "app", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"groupmap {app.__version__}"
    assert version("groupmap") == app.__version__


def test_about_shows_version_runtime_and_every_bundled_package(qtbot):
    dialog = show_about(None)
    qtbot.addWidget(dialog)
    qtbot.waitExposed(dialog)

    assert dialog.isVisible()
    assert app.__version__ in dialog.title.text()
    assert qVersion() in dialog.runtime.text()
    assert f"Python {sys.version_info.major}.{sys.version_info.minor}" in dialog.runtime.text()

    shown = {
        dialog.table.item(row, 0).text(): dialog.table.item(row, 2).text()
        for row in range(dialog.table.rowCount())
    }
    expected = {p.name: p.license for p in bundled_packages()}
    assert shown == expected
    assert "LGPL-3.0-only" in shown["PySide6_Essentials"]
    assert shown["pandas"] == "BSD-3-Clause"
    assert "pytest" not in {name.lower() for name in shown}

    dialog.close()
    assert not dialog.isVisible()


def test_about_lists_the_packages_it_is_given(qtbot):
    packages = [PackageLicense("alpha", "1.0", "MIT"), PackageLicense("beta", "2.3", "Apache-2.0")]
    dialog = AboutDialog(None, packages=packages)
    qtbot.addWidget(dialog)

    cells = [
        [dialog.table.item(row, col).text() for col in range(3)]
        for row in range(dialog.table.rowCount())
    ]
    assert cells == [["alpha", "1.0", "MIT"], ["beta", "2.3", "Apache-2.0"]]
