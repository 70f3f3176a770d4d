import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# Settings (QSettings) and autosaves (platformdirs) of every app made by a test go to a
# throw-away home, never to the developer's ~/.config or ~/.local/share.
_home = tempfile.mkdtemp(prefix="groupmap-tests-")
os.environ["XDG_CONFIG_HOME"] = os.path.join(_home, "config")
os.environ["XDG_DATA_HOME"] = os.path.join(_home, "data")

pytest_plugins = ["tests.scim_fixtures"]
