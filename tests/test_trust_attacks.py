"""The review's attacks on issue 22's promises, each a reproduction that failed before its fix:
deletes and creates journaled and undone, answers lost after the server applied a write, a
member added by hand while a paced run writes, later runs matched by group id, a journal that
fails after the last write, a run file removed mid-run, malformed display fields."""

from __future__ import annotations

import json

import pytest

import app.scim.sync.run as run_module
from app.cli import main
from app.io.journal import find_run, journal_dir
from app.scim.http.errors import ConnectError
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users
from tests.test_trust_journal import mapping_file, server_users_csv, sync_cli, undo

MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering"}, apply_existing=True)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


def journaled_sync(server, users, client_hook=None, **options):
    """A sync through the library, its client changed by `client_hook` after the read."""
    settings_ = SyncSettings(server.url, TOKEN, allow_mass_removal=True, **options)
    with fast_client(server.url) as client:
        plan = plan_sync(users, MAPPING, read_server_state(client, users, MAPPING, settings_),
                         settings_)
        if client_hook is not None:
            client_hook(client)
        journal = RunJournal.begin(plan, settings_, MAPPING, ["users.csv"])
        try:
            result = execute(client, plan, settings_, journal=journal)
        except KeyboardInterrupt:  # the process "dies": no outcome, no end record
            return None
        journal.finish(result)
    return result


def test_the_delete_of_a_created_group_has_an_intent_and_undo_deletes_nothing_unjournaled(
    scim_server, capsys
):
    users = make_users(4, ["sales"])
    server = scim_server(users)
    assert sync_cli(server.url, server_users_csv(users, capsys), mapping_file()) == 0
    assert undo(server.url, "1", "--delete-created-groups") == 0
    assert "Sales" not in server.dump()["groups"]
    intents = [i for i in find_run(2).intents if i["op"] == "delete"]
    assert {i["group"] for i in intents} >= {"Sales"}


def test_a_create_killed_before_its_answer_is_undone(scim_server, capsys):
    users = make_users(4, ["sales"])
    server = scim_server(users)

    def dies_after_create(client):
        real = client.create_group

        def create(name, members):
            real(name, members)
            raise KeyboardInterrupt  # the POST reached the server; the answer never came

        client.create_group = create

    assert journaled_sync(server, users, dies_after_create) is None
    assert len(server.dump()["groups"]["Sales"]) == 4
    assert undo(server.url, "1", "--delete-created-groups") == 0
    assert "Sales" not in server.dump()["groups"]


def test_a_create_whose_answer_was_lost_is_the_run_s_own_not_adopted(scim_server, capsys):
    users = make_users(4, ["sales"])
    server = scim_server(users)

    def lost_answer(client):
        real = client.request
        lost = []

        def request(method, path, **kwargs):
            answer = real(method, path, **kwargs)
            if method == "POST" and path == "/Groups" and not lost:
                lost.append(1)
                raise ConnectError("timed out", ambiguous=True)
            return answer

        client.request = request
        client._groups._client = client  # the group writes use the same request

    result = journaled_sync(server, users, lost_answer)
    assert result is not None and result.added == 4
    create = [op for op in find_run(1).ops if op["op"] == "create" and op["group"] == "Sales"]
    assert [op["outcome"] for op in create] == ["applied"]
    assert undo(server.url, "1", "--delete-created-groups") == 0
    assert "Sales" not in server.dump()["groups"]


def test_a_patch_applied_but_answered_with_a_timeout_is_undone(scim_server, capsys):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})

    def times_out(client):
        real = client.modify_members

        def modify(group_id, add, remove, known=(), **conditions):
            real(group_id, add, remove, known, **conditions)
            raise ConnectError("timed out", ambiguous=True)

        client.modify_members = modify

    result = journaled_sync(server, users, times_out)
    # sent with If-Match (the server has ETags): the group read after it shows it landed
    assert not result.failed and result.added == 4
    assert len(server.dump()["groups"]["Sales"]) == 4
    assert undo(server.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == set()


def test_a_member_added_by_hand_while_a_paced_run_writes_is_never_undone(
    scim_server, capsys, monkeypatch
):
    monkeypatch.setattr(run_module, "MAX_WITNESS_AGE", 0.0)  # every batch is "long after"
    users = make_users(6, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    ids = {email: uid for uid, email in server.dump()["users"].items()}

    def hand_add_midway(client):
        real = client.modify_members
        sent = []

        def modify(group_id, add, remove, known=(), **conditions):
            answer = real(group_id, add, remove, known, **conditions)
            sent.append(1)
            if len(sent) == 1:  # the admin adds a later batch's member by hand
                real(group_id, [ids["user00005@ex.com"]], [])
            return answer

        client.modify_members = modify

    journaled_sync(server, users, hand_add_midway, batch_size=2, concurrency=1)
    assert len(server.dump()["groups"]["Sales"]) == 6
    assert undo(server.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == {"user00005@ex.com"}


def test_a_later_run_is_matched_by_group_id_after_a_rename(scim_server, capsys):
    users = make_users(3, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    users_csv = server_users_csv(users, capsys)
    assert sync_cli(server.url, users_csv, mapping_file()) == 0  # run 1 adds three
    with fast_client(server.url) as client:
        group_id = client.find_group("Sales")["id"]
        client.request("PATCH", f"/Groups/{group_id}", json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Revenue"}],
        })
    renamed = mapping_file()
    renamed.write_text("Value in Identity Provider,Group\nsales,Revenue\nx,Other\n", "utf-8")
    moved = server_users_csv(make_users(3, ["x"]), capsys)
    assert sync_cli(server.url, moved, renamed) == 0  # run 2: everyone to Other
    assert sync_cli(server.url, users_csv, renamed) == 0  # run 3: back to Revenue
    capsys.readouterr()
    assert undo(server.url, "1") == 0
    assert len(server.dump()["groups"]["Revenue"]) == 3  # run 3's adds stay


def test_a_journal_that_fails_after_the_last_write_says_so(scim_server, capsys, monkeypatch):
    import app.io.journal as journal_module

    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    real_write = journal_module.Journal.write

    def write(self, kind, **data):
        if kind in ("verify", "end"):
            raise journal_module.JournalUnwritable(self.path, OSError(28, "No space left"))
        real_write(self, kind, **data)

    monkeypatch.setattr(journal_module.Journal, "write", write)
    assert sync_cli(server.url, server_users_csv(users, capsys), mapping_file()) == 5
    assert "No space left" in capsys.readouterr().err


def test_a_run_file_removed_mid_run_is_not_begun_again(scim_server, capsys):
    users = make_users(6, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})

    def removes_the_file(client):
        real = client.modify_members

        def modify(group_id, add, remove, known=(), **conditions):
            (journal_dir() / "run-0001.jsonl").unlink(missing_ok=True)
            return real(group_id, add, remove, known, **conditions)

        client.modify_members = modify

    result = journaled_sync(server, users, removes_the_file, batch_size=2, concurrency=1)
    assert "removed during the run" in result.journal_error
    assert not (journal_dir() / "run-0001.jsonl").exists()
    assert len(server.dump()["groups"]["Sales"]) == 2  # the one batch sent before, then stop


def test_an_unwritable_journal_folder_exits_4(scim_server, capsys, tmp_path, monkeypatch):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder", encoding="utf-8")
    monkeypatch.setenv("GROUPMAP_JOURNAL_DIR", str(blocker / "journal"))
    assert sync_cli(server.url, server_users_csv(users, capsys), mapping_file()) == 4
    assert server.dump()["groups"]["Sales"] == set()


@pytest.mark.parametrize("field", ["at", "os_user", "dry_run", "undoes"])
def test_a_start_record_with_a_wrong_display_field_is_skipped(field, capsys):
    folder = journal_dir()
    folder.mkdir(parents=True, exist_ok=True)
    start = {"type": "start", "at": "2026-01-01T00:00:00+00:00", "url": "u", field: 5}
    if field in ("dry_run", "undoes"):
        start[field] = "no"
    (folder / "run-0001.jsonl").write_text(json.dumps(start) + "\n", encoding="utf-8")
    assert main(["history"]) == 0
    assert "run-0001.jsonl, line 1" in capsys.readouterr().err
