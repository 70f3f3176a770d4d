"""`--notify` (and a saved connection's webhook) on apply and undo, as on sync: one post when
the run is stopped or leaves work, none when it did everything; a webhook that hangs or
answers 500 never holds the run long nor changes its exit status; never a token."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from app.cli import main, notify
from app.scim.config.connections import ConnectionProfile, write_connections
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN
from tests.test_undo import sync, users_moving


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    monkeypatch.setenv("GROUPMAP_NO_KEYRING", "1")
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


@pytest.fixture
def plan(scim_server, tmp_path: Path, capsys) -> tuple[str, Path]:
    """A server and a plan for it, saved by `sync --dry-run --plan-out`."""
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i}@ex.com,active,{['sales', 'eng'][i % 2]}," for i in range(6)]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n", encoding="utf-8")
    from app.io import read_users

    server = scim_server(read_users([tmp_path / "users.csv"]))
    saved = tmp_path / "plan.json"
    assert main(["sync", "--users", str(tmp_path / "users.csv"), "--mapping",
                 str(tmp_path / "mapping.csv"), "--url", server.url, "--dry-run",
                 "--plan-out", str(saved)]) == 0
    capsys.readouterr()
    return server.url, saved


def test_apply_notifies_when_its_plan_no_longer_fits_and_not_when_it_applied(
    plan, webhook, capsys
):
    url, saved = plan
    hook = webhook()
    assert main(["apply", str(saved), "--notify", hook.url]) == 0
    assert hook.posts == []  # applied: nobody to tell
    assert main(["apply", str(saved), "--notify", hook.url]) == 2
    assert "no longer fits" in capsys.readouterr().err
    assert len(hook.posts) == 1
    sent = hook.posts[0]
    assert sent["text"].startswith(f"GroupMap apply of plan.json to {url} was stopped: plan ")
    assert "no longer fits" in sent["text"]
    assert (sent["command"], sent["status"], sent["server"]) == ("apply", 2, url)
    assert TOKEN not in json.dumps(sent)


def test_apply_uses_the_saved_connections_webhook(plan, webhook, capsys):
    url, saved = plan
    hook = webhook()
    write_connections([ConnectionProfile("Prod", url, notify=hook.url)])
    assert main(["apply", str(saved), "--connection", "Prod"]) == 0
    assert main(["apply", str(saved), "--connection", "Prod"]) == 2
    assert [p["command"] for p in hook.posts] == ["apply"]


def test_undo_stopped_by_the_guard_notifies_the_connections_webhook(scim_server, webhook,
                                                                     capsys):
    users = users_moving()
    server = scim_server(users)
    run = sync(server.url, users)
    synced = server.dump()["groups"]
    hook = webhook()
    write_connections([ConnectionProfile("Prod", server.url, notify=hook.url)])
    assert main(["undo", str(run), "--connection", "Prod"]) == 2  # the mass-removal guard
    assert server.dump()["groups"] == synced
    assert len(hook.posts) == 1
    sent = hook.posts[0]
    assert sent["text"].startswith(f"GroupMap undo of run {run} on {server.url} was stopped: ")
    assert "--allow-mass-removal" in sent["text"]
    assert (sent["command"], sent["status"]) == ("undo", 2)
    assert TOKEN not in json.dumps(sent)
    assert main(["undo", str(run), "--connection", "Prod", "--allow-mass-removal"]) == 0
    assert len(hook.posts) == 1  # the undo done: nothing more to tell


def test_undo_that_leaves_work_posts_its_summary(scim_server, fault_proxy, webhook, capsys):
    users = users_moving()
    server = scim_server(users)
    refusing = []

    def refuse(record):
        if refusing and record.method == "PATCH" and "/Groups/" in record.path:
            return 400, "the group store is read-only right now"
        return None

    proxy = fault_proxy(server.url, refuse=refuse)
    run = sync(proxy.url, users)
    refusing.append(True)
    hook = webhook()
    status = main(["undo", str(run), "--url", proxy.url, "--allow-mass-removal",
                   "--notify", hook.url])
    assert status == 1
    assert len(hook.posts) == 1
    sent = hook.posts[0]
    assert sent["text"].startswith(f"GroupMap undo of run {run} on {proxy.url} left work for a "
                                   "rerun")
    assert sent["summary"]["failed"] > 0 and sent["summary"]["run"] > run
    assert TOKEN not in json.dumps(sent)


def test_a_hanging_webhook_holds_the_run_only_for_the_timeout(plan, webhook, capsys,
                                                              monkeypatch):
    monkeypatch.setattr(notify, "TIMEOUT", 0.5)
    url, saved = plan
    hanging = webhook(hang=True)
    assert main(["apply", str(saved)]) == 0
    assert main(["apply", str(saved), "--notify", hanging.url]) == 2  # the run's own status
    err = capsys.readouterr().err
    assert "groupmap: warning: could not notify 127.0.0.1: no answer within 0.5 s" in err
    assert "The run's own result stands." in err
    assert len(hanging.posts) == 1


def test_a_webhook_answering_500_is_one_warning_without_its_url(plan, webhook, capsys):
    url, saved = plan
    broken = webhook(status=500)
    assert main(["apply", str(saved)]) == 0
    assert main(["apply", str(saved), "--notify", broken.url]) == 2
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if "could not notify" in line]
    assert len(warning) == 1 and "500" in warning[0] and "The run's own result stands" in err
    assert "/hook/T000/B000/XXXX" not in err  # the webhook's URL is a secret: redacted
    assert len(broken.posts) == 1


def test_undo_notify_help_names_the_connection_default(capsys):
    with pytest.raises(SystemExit):
        main(["undo", "--help"])
    assert re.search(r"--notify URL\s+post one JSON message", capsys.readouterr().out)


def test_a_source_token_from_the_keyring_is_redacted_from_the_message(
    clock, servers, webhook, monkeypatch
):
    """The Okta token an unattended run took from the keyring (not the environment) is one
    of the secrets no message carries."""
    import argparse

    from app.cli import sources
    from app.scim.config.tokens import TokenStore
    from tests.fake_idp import OKTA_TOKEN, FakeOkta, okta_user, started

    monkeypatch.delenv("GROUPMAP_OKTA_TOKEN", raising=False)
    okta = started(servers, FakeOkta([okta_user(1, department="Sales")], OKTA_TOKEN, clock))
    monkeypatch.setattr(TokenStore, "get",
                        lambda self, name: OKTA_TOKEN if name == "okta:127.0.0.1" else "")
    args = argparse.Namespace(okta_url=okta.url, insecure_http=False)
    users, _ = sources._read_okta(args, "profile.department", "")
    assert len(users) == 1
    hook = webhook()
    notify.post(hook.url, {"text": f"echoed {OKTA_TOKEN}"}, notify.secrets(args))
    assert hook.posts == [{"text": "echoed [redacted]"}]


def test_ctrl_c_while_a_live_source_is_read_is_told_as_cancelled(tmp_path, webhook, monkeypatch):
    from app.cli import sources

    def pressed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(sources, "_read_scim", pressed)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Sales\n", encoding="utf-8")
    hook = webhook()
    with pytest.raises(SystemExit) as ended:
        main(["sync", "--users", "scim:title", "--mapping", str(mapping), "--url",
              "https://scim.example.com/v2", "--notify", hook.url])
    assert ended.value.code == 130
    assert [(p["status"], p["outcome"]) for p in hook.posts] == [(130, "was cancelled")]
