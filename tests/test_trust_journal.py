"""Issue 22's journal promises: a write-ahead log with witnesses, undo that never removes what
was there before the run nor what a later run did, a journal read defensively."""

from __future__ import annotations

import json
import os

import pytest

from app.cli import main
from app.io.journal import find_run, journal_dir, list_runs, read_runs
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users

MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering"}, apply_existing=True)


@pytest.fixture(autouse=True)
def token(monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


def undo(url, *extra):
    return main(["undo", *extra, "--url", url, "--allow-mass-removal", "--json"])


def sync_cli(url, users_csv, mapping_csv, *extra):
    return main(["sync", "--users", str(users_csv), "--mapping", str(mapping_csv), "--url", url,
                 "--apply-existing", "--allow-mass-removal", *extra])


def test_undo_never_removes_members_of_a_group_the_run_adopted(scim_server, capsys):
    """The admin made "Sales" by hand, holding a planned member and one of their own, between
    the read and the write: the run adopts it, and its undo leaves both members."""
    users = make_users(4, ["sales"])
    server = scim_server(users)
    ids = {name: uid for uid, name in server.dump()["users"].items()}
    settings_ = SyncSettings(server.url, TOKEN)
    with fast_client(server.url) as client:
        state = read_server_state(client, users, MAPPING, settings_)
        plan = plan_sync(users, MAPPING, state, settings_)
        client.create_group("Sales", [ids["user00000@ex.com"]])  # by hand, after the read
        journal = RunJournal.begin(plan, settings_, MAPPING, ["users.csv"])
        result = execute(client, plan, settings_, journal=journal)
        journal.finish(result)
    assert server.dump()["groups"]["Sales"] == {f"user0000{i}@ex.com" for i in range(4)}
    assert result.added == 3  # the hand-made member is witnessed, not counted as added
    assert undo(server.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == {"user00000@ex.com"}


def test_an_unwritable_journal_stops_the_run_and_everything_sent_is_journaled(
    scim_server, capsys, monkeypatch
):
    """The disk fills after a few records: nothing more is sent, every membership on the
    server is in an intent, and the exit status says some writes happened (5)."""
    import app.io.journal as journal_module

    users = make_users(40, ["sales", "eng"])
    server = scim_server(users, extra_groups={"Sales": [], "Engineering": []})
    real_fsync, calls = os.fsync, []

    def full_disk(fd):
        calls.append(fd)
        if len(calls) > 6:  # start, mapping, guards, plan, two intents: the disk is full
            raise OSError(28, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(journal_module.os, "fsync", full_disk)
    users_csv = server_users_csv(users, capsys)
    mapping_csv = mapping_file()
    status = sync_cli(server.url, users_csv, mapping_csv, "--batch-size", "4",
                      "--concurrency", "1")
    err = capsys.readouterr().err
    assert status == 5
    assert "No space left on device" in err and "journal" in err
    on_server = {(g, e) for g, members in server.dump()["groups"].items() for e in members}
    run = find_run(1)
    intended = {
        (i["group"], m["email"]) for i in run.intents for m in i["members"]
    }
    assert on_server and on_server <= intended


def test_a_journal_that_cannot_take_the_start_record_sends_nothing(
    scim_server, capsys, monkeypatch
):
    import app.io.journal as journal_module

    users = make_users(8, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(journal_module.os, "fsync", full_disk)
    status = sync_cli(server.url, server_users_csv(users, capsys), mapping_file())
    assert status == 4
    assert server.dump()["groups"]["Sales"] == set()
    assert "No space left on device" in capsys.readouterr().err


def test_undo_again_after_a_later_sync_redid_it_leaves_the_later_change(scim_server, capsys):
    users = make_users(6, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    users_csv, mapping_csv = server_users_csv(users, capsys), mapping_file()
    assert sync_cli(server.url, users_csv, mapping_csv) == 0  # run 1 adds six to Sales
    assert undo(server.url, "1") == 0  # run 2 removes them
    assert server.dump()["groups"]["Sales"] == set()
    assert sync_cli(server.url, users_csv, mapping_csv) == 0  # run 3 adds them again
    capsys.readouterr()
    assert undo(server.url, "1") == 0  # run 1 again: its changes were undone and redone
    out = json.loads(capsys.readouterr().out)
    assert len(server.dump()["groups"]["Sales"]) == 6
    assert {item["now"] for item in out["left_as_is"]} == {"undone by the later run 2"}


def test_history_shows_undo_and_apply_runs_and_skips_a_malformed_record(scim_server, capsys):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    users_csv, mapping_csv = server_users_csv(users, capsys), mapping_file()
    assert sync_cli(server.url, users_csv, mapping_csv) == 0
    assert undo(server.url, "1") == 0
    capsys.readouterr()
    assert main(["history", "2"]) == 0
    out = capsys.readouterr().out
    assert "undo of run 1" in out and "Undoes run 1" in out
    path = journal_dir() / "run-0001.jsonl"
    with path.open("a", encoding="utf-8") as file:  # valid JSON, wrong shape
        file.write(json.dumps({"type": "op", "op": "add", "group": 7, "members": "x"}) + "\n")
        file.write(json.dumps({"type": "start", "url": None}) + "\n")
    assert main(["history", "--json"]) == 0
    captured = capsys.readouterr()
    assert [r["kind"] for r in json.loads(captured.out)] == ["sync", "undo"]
    assert "run-0001.jsonl, line" in captured.err and "skipped" in captured.err
    _, problems = read_runs()
    assert len(problems) == 2
    # a later sync to the server is not stopped by the malformed records
    assert sync_cli(server.url, users_csv, mapping_csv) == 0
    assert len(list_runs(server.url)) == 3


def test_an_intent_without_an_answer_is_resolved_by_reading_the_server(scim_server, capsys):
    """A kill between request and answer: the journal holds the intent only; undo reads the
    group and reverts the add that did reach the server."""
    users = make_users(3, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    assert sync_cli(server.url, server_users_csv(users, capsys), mapping_file()) == 0
    path = journal_dir() / "run-0001.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if json.loads(line)["type"] not in ("op", "verify", "end")]
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    run = find_run(1)
    adds = [key for key in run.unresolved() if key[0] == "add"]
    assert run.status == "interrupted" and len(adds) == 3
    capsys.readouterr()
    assert main(["history", "1"]) == 0
    assert "sent, no answer recorded" in capsys.readouterr().out
    assert undo(server.url, "1") == 0
    assert server.dump()["groups"]["Sales"] == set()


# --- helpers --------------------------------------------------------------------------------


def server_users_csv(users, capsys):
    """The export as a file the CLI reads."""
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="trust-"))
    path = folder / "users.csv"
    rows = ["Name,Email,Status,Identity Provider Group,Group"]
    frame = users.frame
    for i in range(len(frame)):
        rows.append(f"User {i},{frame['email'].iloc[i]},active,{frame['source'].iloc[i]},")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def mapping_file():
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="trust-")) / "mapping.csv"
    path.write_text("Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n",
                    encoding="utf-8")
    return path


def test_reading_only_the_runs_heads_agrees_with_reading_them_whole(tmp_path):
    """The source guard reads each run's start and end only; a large run, a retried run (two
    end records) and a format 1 run (its mapping inside the start) read the same."""
    from app.io.journal import read_run

    members = [{"id": f"id{i}", "email": f"user{i}@ex.com"} for i in range(3000)]
    ops = [json.dumps({"type": "op", "at": "t", "op": "add", "group": "Sales", "members": members,
                       "outcome": "applied"})]
    runs = {
        "run-0001.jsonl": [json.dumps({"type": "start", "url": "u", "format": 1,
                                       "mapping": {"rows": [["v", "g"]] * 5000},
                                       "export": {"users": 10}}), *ops,
                           json.dumps({"type": "end", "status": "done"})],
        "run-0002.jsonl": [json.dumps({"type": "start", "url": "u", "format": 2,
                                       "export": {"users": 12}}), *ops,
                           json.dumps({"type": "end", "status": "failed"}), *ops,
                           json.dumps({"type": "end", "status": "done"})],
        "run-0003.jsonl": [json.dumps({"type": "start", "url": "u", "format": 2}), *ops],
    }
    for name, lines in runs.items():
        (tmp_path / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    for name in runs:
        head, whole = read_run(tmp_path / name, head_only=True), read_run(tmp_path / name)
        assert (head.start, head.end, head.status) == (whole.start, whole.end, whole.status)
        assert head.problems == whole.problems == []
    assert [r.status for r in list_runs("u", tmp_path, head_only=True)] == [
        "done", "done", "interrupted"
    ]


def test_the_journal_records_what_a_run_overrode(scim_server, capsys):
    users = make_users(4, ["sales"])
    server = scim_server(users, extra_groups={"Sales": []})
    assert sync_cli(server.url, server_users_csv(users, capsys), mapping_file(),
                    "--allow-source-change") == 0
    lines = (journal_dir() / "run-0001.jsonl").read_text(encoding="utf-8").splitlines()
    (guards,) = [json.loads(x) for x in lines if json.loads(x)["type"] == "guards"]
    assert guards["source_change_allowed"] is True and guards["mass_removal_allowed"] is True
    assert guards["expectations_ignored"] is False and guards["mass_removal"] == ""


def test_no_journal_record_of_any_shape_stops_history_or_a_sync(tmp_path):
    """Valid JSON of any shape in any record: history, the source guard and the drift discount
    read on, naming what they skipped."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from app.scim.sync.record import applied_since, last_successful_sync

    scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
    values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(st.sampled_from(
                              ["url", "export", "files", "users", "members", "email", "id",
                               "op", "group", "outcome", "status", "adds", "mapping"]),
                              inner, max_size=4), max_leaves=8)
    kinds = st.sampled_from(["start", "plan", "op", "intent", "mapping", "verify", "end",
                             "guards", "undo"])
    records = st.lists(st.builds(lambda kind, body: {**body, "type": kind}, kinds,
                                 st.dictionaries(st.sampled_from(
                                     ["url", "export", "members", "op", "group", "outcome",
                                      "dry_run", "undoes", "applies", "status"]), values,
                                     max_size=5)), max_size=6)

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(records)
    def check(lines):
        path = tmp_path / "run-0001.jsonl"
        start = {"type": "start", "url": "u", "export": {"users": 3, "files": []}}
        path.write_text("\n".join(json.dumps(x) for x in [start, *lines]) + "\n", "utf-8")
        runs, _ = read_runs(None, tmp_path)
        for run in runs:
            run.summary()
            run.source_text()
            run.unresolved()
        last_successful_sync("u", tmp_path)
        applied_since("u", None, tmp_path)

    check()
