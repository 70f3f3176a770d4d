"""`groupmap connections` and `--connection NAME`: the app's saved connections from the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

from app.cli import main
from app.io import read_users
from app.scim.config.connections import (
    ConnectionProfile,
    connections_path,
    read_connections,
    write_connections,
)
from app.scim.config.tokens import TokenStore
from app.ui.server.connection import ConnectionStore
from tests.scim_fixtures import TOKEN


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:03d}@ex.com,active,{['sales', 'eng'][i % 2]}," for i in range(6)]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n", encoding="utf-8"
    )
    return tmp_path / "users.csv", tmp_path / "mapping.csv"


@pytest.fixture
def keyring_tokens(monkeypatch) -> dict[str, str]:
    """Tokens 'in the OS keyring', as the app would have stored them."""
    stored: dict[str, str] = {}
    monkeypatch.setattr(TokenStore, "get", lambda self, name: stored.get(name, ""))
    return stored


def sync(inputs, *extra: str) -> int:
    users, mapping = inputs
    return main(["sync", "--users", str(users), "--mapping", str(mapping), "--json", *extra])


def test_connections_saved_in_the_app_are_listed_without_tokens(
    tmp_path, capsys, keyring_tokens
):
    store = ConnectionStore(QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat))
    store.save(ConnectionProfile("Production", "https://scim.example.com/v2"))
    store.save(ConnectionProfile("Staging", "http://127.0.0.1:9/v2", match_attribute="emails"))
    keyring_tokens["Production"] = TOKEN

    assert main(["connections", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(c["name"], c["url"], c["token_stored"]) for c in listed] == [
        ("Production", "https://scim.example.com/v2", True),
        ("Staging", "http://127.0.0.1:9/v2", False),
    ]
    assert listed[1]["match_attribute"] == "emails" and listed[0]["target"] == "groups"
    assert main(["connections"]) == 0
    text = capsys.readouterr().out
    assert "Production: https://scim.example.com/v2" in text and "no token stored" in text
    assert TOKEN not in text and TOKEN not in connections_path().read_text("utf-8")


def test_sync_with_a_saved_connection_uses_its_url_and_stored_token(
    scim_server, inputs, capsys, keyring_tokens, monkeypatch
):
    monkeypatch.delenv("GROUPMAP_TOKEN", raising=False)
    server = scim_server(read_users([inputs[0]]))
    write_connections([ConnectionProfile("Prod", server.url)])
    keyring_tokens["Prod"] = TOKEN

    assert sync(inputs, "--connection", "Prod") == 0
    assert json.loads(capsys.readouterr().out)["added"] == 6
    assert server.dump()["groups"]["Sales"] == {f"user{i:03d}@ex.com" for i in (0, 2, 4)}


def test_explicit_flags_override_the_saved_connection(
    scim_server, inputs, capsys, keyring_tokens, monkeypatch
):
    server = scim_server(read_users([inputs[0]]))
    write_connections([ConnectionProfile("Prod", "http://127.0.0.1:9/v2")])
    keyring_tokens["Prod"] = "a-stale-token-from-the-keyring"
    monkeypatch.setenv("CI_TOKEN", TOKEN)

    code = sync(inputs, "--connection", "Prod", "--url", server.url, "--token-env", "CI_TOKEN")
    assert code == 0, capsys.readouterr().err
    assert json.loads(capsys.readouterr().out)["added"] == 6


def test_an_unknown_connection_names_the_saved_ones(inputs, capsys):
    write_connections([ConnectionProfile("Prod", "https://scim.example.com/v2")])
    assert sync(inputs, "--connection", "Production") == 2
    err = capsys.readouterr().err
    assert "no saved connection is named 'Production'" in err and "'Prod'" in err


def test_sync_without_url_or_connection_says_what_to_give(inputs, capsys):
    assert sync(inputs) == 2
    assert "pass --url BASE_URL, or --connection NAME" in capsys.readouterr().err


def test_a_broken_connections_file_is_one_clear_line(inputs, capsys):
    path = connections_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{not json", encoding="utf-8")
    assert main(["connections"]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and "fix or delete the file" in err and "Traceback" not in err


def test_connections_saved_by_an_earlier_version_move_to_the_shared_file(tmp_path):
    settings = QSettings(str(tmp_path / "old.ini"), QSettings.Format.IniFormat)
    settings.beginWriteArray("scim/connections", 1)
    settings.setArrayIndex(0)
    old = {"name": "Old", "url": "https://old.example.com/v2", "target": "groups"}
    for key, value in old.items():
        settings.setValue(key, value)
    settings.endArray()
    settings.sync()

    store = ConnectionStore(settings)
    assert [p.name for p in store.profiles()] == ["Old"]
    assert [p.url for p in read_connections()] == ["https://old.example.com/v2"]
    assert settings.beginReadArray("scim/connections") == 0
    settings.endArray()


def test_history_with_a_saved_connection_lists_that_servers_runs(
    scim_server, inputs, capsys, keyring_tokens, monkeypatch
):
    monkeypatch.delenv("GROUPMAP_TOKEN", raising=False)
    prod, staging = scim_server(read_users([inputs[0]])), scim_server(read_users([inputs[0]]))
    write_connections([ConnectionProfile("Prod", prod.url), ConnectionProfile("Stg", staging.url)])
    keyring_tokens.update({"Prod": TOKEN, "Stg": TOKEN})
    assert sync(inputs, "--connection", "Prod") == 0
    assert sync(inputs, "--connection", "Stg") == 0
    capsys.readouterr()
    assert main(["history", "--connection", "Prod", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [run["server"] for run in runs] == [prod.url]


@pytest.mark.parametrize(("field", "value"), [
    ("name", "Prod\x1b[2J\x1b[31mOK"),  # a terminal escape: clears the screen, turns it red
    ("name", "Prod\u202eved"),  # a bidi override: the rest reads right to left
    ("attribute", "urn:dept\r\nfaked line"),
    ("source", "entra:dep\u200bartment"),  # zero-width space: two names that look the same
])
@pytest.mark.parametrize("command", ["connections", "sources"])
def test_a_hand_edited_control_or_invisible_character_is_refused_naming_file_and_entry(
    capsys, field, value, command
):
    good = ConnectionProfile("Staging", "https://scim.example.com/v2")
    odd = {**vars(ConnectionProfile("Prod", "https://scim.example.com/v2", target="attribute",
                                    attribute="urn:dept", source="entra:department")),
           field: value}
    path = connections_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"format": "groupmap-connections", "version": 1,
                                "connections": [vars(good), odd]}), encoding="utf-8")
    assert main([command]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and err.isascii()
    assert all(c.isprintable() for c in err.rstrip("\n"))
    assert f"{path}: connection 2 (" in err and f'its "{field}"' in err
    assert "remove it from the file" in err
