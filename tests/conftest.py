import os
import tempfile

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Settings (QSettings) and autosaves (platformdirs) of every app made by a test go to a
# throw-away home, never to the developer's ~/.config or ~/.local/share.
_home = tempfile.mkdtemp(prefix="groupmap-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")

pytest_plugins = ["tests.scim_fixtures", "tests.ui_fixtures", "tests.fake_idp"]


@pytest.fixture(autouse=True)
def _own_config_folder(tmp_path_factory, monkeypatch):
    """Each test saves connections in a folder of its own (platformdirs reads the variable)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path_factory.mktemp("config")))


@pytest.fixture(autouse=True)
def journal_folder(tmp_path, monkeypatch):
    """Every test journals its syncs into its own folder (app/io/journal.py reads the env)."""
    folder = tmp_path / "journal"
    monkeypatch.setenv("GROUPMAP_JOURNAL_DIR", str(folder))
    return folder
