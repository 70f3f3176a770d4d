"""A SCIM base URL carrying an API key in its query (`?token=…`): every request carries the
key, and no journal, plan, output, error message or webhook post shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.io import read_users
from app.scim.http.redact import redact_url, url_secrets
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN
from tests.scim_proxy import Recorded

SECRET = "s3cr3t-api-key-9f8e"


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


@pytest.fixture
def keyed(scim_server, fault_proxy, tmp_path: Path):
    """(URL with the key in its query, proxy, server, users, mapping): the proxy refuses any
    request without the key, as a provider taking `?token=` would."""
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i}@ex.com,active,{['sales', 'eng'][i % 2]}," for i in range(6)]
    users = tmp_path / "users.csv"
    users.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n",
                       encoding="utf-8")
    server = scim_server(read_users([users]))

    def refuse(record: Recorded) -> tuple | None:
        return None if record.query.get("token") == SECRET else (401, "no API key")

    proxy = fault_proxy(server.url, refuse=refuse)
    return f"{proxy.url}?token={SECRET}", proxy, server, users, mapping


def _journal_text(folder: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted(folder.glob("*")))


def test_sync_and_history_never_show_the_query_key(keyed, journal_folder, webhook, capsys,
                                                   monkeypatch):
    url, proxy, server, users, mapping = keyed
    sync = ["sync", "--users", str(users), "--mapping", str(mapping), "--url", url]
    assert main(sync) == 0
    assert server.dump()["groups"] == {  # every request carried the key
        "Sales": {"user0@ex.com", "user2@ex.com", "user4@ex.com"},
        "Engineering": {"user1@ex.com", "user3@ex.com", "user5@ex.com"},
    }
    assert all(r.query.get("token") == SECRET for r in proxy.records)
    assert main(["history"]) == 0
    assert main(["history", "--url", url]) == 0  # the runs to that server, matched redacted
    assert main(["history", "1"]) == 0
    out, err = capsys.readouterr()
    assert "token=[redacted]" in out and out.count("sync") >= 2
    hook = webhook()
    monkeypatch.setenv("GROUPMAP_TOKEN", "wrong-token-123")  # refused: the webhook is told
    assert main([*sync, "--notify", hook.url]) != 0
    out2, err2 = capsys.readouterr()
    assert f"{redact_url(url)}" in err2
    assert len(hook.posts) == 1 and hook.posts[0]["server"] == redact_url(url)
    shown = out + err + out2 + err2 + json.dumps(hook.posts) + _journal_text(journal_folder)
    assert SECRET not in shown


def test_a_plan_never_keeps_the_key_and_applies_with_the_full_url(keyed, tmp_path, capsys):
    url, proxy, server, users, mapping = keyed
    plan = tmp_path / "plan.json"
    assert main(["sync", "--users", str(users), "--mapping", str(mapping), "--url", url,
                 "--dry-run", "--plan-out", str(plan)]) == 0
    assert SECRET not in plan.read_text(encoding="utf-8")
    assert main(["apply", str(plan)]) == 2  # the plan alone cannot name the key
    err = capsys.readouterr().err
    assert "--url" in err and err.count("\n") == 1
    assert main(["apply", str(plan), "--url", url]) == 0
    assert SECRET not in "".join(capsys.readouterr())
    assert set(server.dump()["groups"]) == {"Sales", "Engineering"}


@pytest.mark.parametrize(("url", "shown"), [
    ("https://h.example/v2?api_key=key-one&x=two",
     "https://h.example/v2?api_key=[redacted]&x=[redacted]"),
    ("https://bot:pass-word@h.example/v2/#frag", "https://h.example/v2/#[redacted]"),
    ("https://h.example/v2?bare-key", "https://h.example/v2?[redacted]"),
    ("http://[bad/v2", "(not a valid URL)"),
])
def test_redact_url_hides_every_secret_a_url_carries_and_is_idempotent(url, shown):
    assert redact_url(url) == shown
    assert redact_url(shown) == shown
    for secret in url_secrets(url):
        assert secret not in shown
