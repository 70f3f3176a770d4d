"""The journal of every run, `groupmap history`, and the source guard, against the real server."""

from __future__ import annotations

import json
import os
import time

import pytest

from app.cli import main
from app.core.source_guard import SourceStats, source_change
from app.io.journal import Journal, find_run, list_runs, read_run
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from app.scim.sync.record import RunJournal
from tests.scim_fixtures import TOKEN, fast_client, make_mapping, make_users

VALUES = ["sales", "eng"]
MAPPING = make_mapping({"sales": "Sales", "eng": "Engineering"})


def write_inputs(folder, users, name="users.csv"):
    export = folder / name
    users.frame.rename(columns={"source": "Identity Provider Group"}).to_csv(export, index=False)
    mapping = folder / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n")
    return export, mapping


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)

    def run(url, users, *extra, name="users.csv"):
        export, mapping = write_inputs(tmp_path, users, name)
        args = ["--mapping", str(mapping), "--users", str(export), "--url", url, *extra]
        return main(["sync", *args])

    return run


def test_sync_journal_records_run_plan_and_every_operation(scim_server, cli, journal_folder):
    users = make_users(8, VALUES, groups=lambda i: "Engineering" if i == 0 else "")
    server = scim_server(users)
    assert cli(server.url, users, "--dry-run") == 0
    assert cli(server.url, users, "--apply-existing", "--allow-mass-removal") == 0
    dry, run = list_runs()
    assert dry.mode == "dry run" and dry.ops == [] and dry.status == "dry run"
    text = run.path.read_text()
    assert TOKEN not in text and all(json.loads(line) for line in text.splitlines())
    assert run.mode == "sync" and run.status == "done" and run.url == server.url
    assert run.start["export"] == {"files": ["users.csv"], "users": 8, "blank_source": 0}
    first_row = run.start["mapping"]["rows"][0]
    assert (first_row["value"], first_row["group"]) == ("sales", "Sales")
    assert run.start["mapping"]["options"]["multiple_groups"] is False
    assert run.start["os_user"]
    assert run.plan["adds"]["Sales"] == [f"user{i:05d}@ex.com" for i in (0, 2, 4, 6)]
    ids = {name: uid for uid, name in server.dump()["users"].items()}
    applied = {}
    for op in run.ops:
        assert op["outcome"] == "applied" and op["group_id"]
        for member in op["members"]:
            assert member["id"] == ids[member["email"]]
            applied.setdefault(op["group"], set()).add((op["op"], member["email"]))
    assert applied["Sales"] == {("add", f"user{i:05d}@ex.com") for i in (0, 2, 4, 6)}
    assert ("remove", "user00000@ex.com") in applied["Engineering"]
    assert run.verify == {**run.verify, "requests": 1, "not_kept": []}  # one group-list page
    assert run.summary()["added"] == 8 and run.summary()["removed"] == 1


def test_interrupted_run_journal_is_what_reached_the_server(scim_server, journal_folder):
    users = make_users(40, VALUES)
    server = scim_server(users)
    settings = SyncSettings(server.url, TOKEN, batch_size=5, concurrency=1)
    sent = []
    with fast_client(server.url, on_request=lambda e: sent.append(e.method)) as client:
        state = read_server_state(client, users, MAPPING, settings)
        plan = plan_sync(users, MAPPING, state, settings)
        journal = RunJournal.begin(plan, settings, MAPPING, ["users.csv"])
        execute(client, plan, settings, cancelled=lambda: sent.count("PATCH") >= 3,
                journal=journal)
    # No end record: the process "died" here.
    run = read_run(journal.journal.path)
    assert run.status == "interrupted" and run.end is None
    journaled = {}
    for op in run.ops:
        if op["outcome"] == "applied" and op["op"] == "add":
            journaled.setdefault(op["group"], set()).update(m["email"] for m in op["members"])
    on_server = {g: m for g, m in server.dump()["groups"].items() if m}
    assert journaled == on_server and 0 < sum(map(len, on_server.values())) < 40


def test_torn_last_line_is_ignored(journal_folder):
    journal = Journal.create()
    journal.write("start", url="http://127.0.0.1:1/v2")
    journal.write("op", op="add", group="Sales", members=[], outcome="applied")
    with journal.path.open("a") as file:
        file.write('{"type": "op", "op": "add", "gro')
    run = find_run(journal.run_id)
    assert len(run.ops) == 1 and run.status == "interrupted"


def test_history_lists_shows_and_follows_a_user(scim_server, cli, capsys):
    users = make_users(6, VALUES)
    server = scim_server(users)
    assert cli(server.url, users) == 0
    moved = make_users(6, ["eng"])
    assert cli(server.url, moved, "--apply-existing", "--allow-mass-removal") == 0
    capsys.readouterr()
    assert main(["history", "--url", server.url]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "run", "when", "server", "mode", "status", "added", "removed", "failed", "by"
    ]
    assert len(table) == 3 and table[1].split()[0] == "1" and " sync " in table[1]
    assert main(["history", "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [(r["run"], r["added"], r["removed"]) for r in runs] == [(1, 6, 0), (2, 3, 3)]
    assert main(["history", "2"]) == 0
    shown = capsys.readouterr().out
    assert "Run 2: sync to " + server.url in shown and "remove Sales -3" in shown
    assert main(["history", "--user", "user00000@ex.com"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("added to Sales by run 1, ")
    second = sorted(line.split(",")[0] for line in lines[1:])  # written as they complete
    assert second == ["added to Engineering by run 2", "removed from Sales by run 2"]
    assert main(["history", "1", "--user", "user00000@ex.com", "--json"]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert (only["run"], only["op"], only["group"]) == (1, "add", "Sales")
    assert main(["history", "2", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["run"] == 2 and shown["plan"]["removes"]["Sales"] and shown["verify"]
    assert all(m["id"] for op in shown["ops"] for m in op["members"])
    assert main(["history", "9"]) == 2
    assert "no run 9 in the journal folder" in capsys.readouterr().err
    assert main(["history", "--url", "http://elsewhere.example/v2"]) == 0
    assert "No runs to http://elsewhere.example/v2" in capsys.readouterr().out


def test_source_change_is_a_pure_comparison():
    before = SourceStats(9870, 100)
    assert source_change(before, SourceStats(9000, 90)) == ""
    assert source_change(before, SourceStats(1204, 10)) == (
        "this export has 1,204 users; the last sync to this server used 9,870 (88% fewer)"
    )
    assert "blank source value" in source_change(before, SourceStats(9870, 3000))
    assert source_change(SourceStats(10, 0), SourceStats(8, 0)).startswith("this export has 8")
    assert source_change(SourceStats(0, 0), SourceStats(5, 5)) != ""  # 0% -> 100% blank


def test_source_guard_stops_a_half_export_before_writing(scim_server, cli, capsys):
    users = make_users(20, VALUES)
    server = scim_server(users)
    assert cli(server.url, users) == 0
    half = make_users(10, ["eng"])
    before = server.dump()["groups"]
    capsys.readouterr()
    assert cli(server.url, half, name="half.csv") == 2
    err = capsys.readouterr().err
    assert "this export has 10 users; the last sync to this server used 20 (50% fewer)" in err
    assert "--allow-source-change" in err
    assert server.dump()["groups"] == before
    assert cli(server.url, half, "--dry-run", name="half.csv") == 0
    assert "this export has 10 users" in capsys.readouterr().out
    assert cli(server.url, half, "--allow-source-change", name="half.csv") == 0
    assert [r.mode for r in list_runs()] == ["sync", "dry run", "sync"]


def test_source_guard_counts_blank_sources(scim_server, cli, capsys):
    users = make_users(10, VALUES)
    server = scim_server(users)
    assert cli(server.url, users) == 0
    blank = make_users(10, ["sales", "", "", ""])
    assert cli(server.url, blank, name="blank.csv") == 2
    assert "70% of its users have a blank source value" in capsys.readouterr().err


def test_users_this_app_placed_are_not_drift(scim_server, tmp_path, monkeypatch, capsys):
    users = make_users(6, VALUES)
    server = scim_server(users)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    export, mapping = write_inputs(tmp_path, users)
    base = ["sync", "--mapping", str(mapping), "--users", str(export), "--url", server.url]
    os.utime(export, (time.time() - 60, time.time() - 60))  # exported before the sync
    assert main([*base, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["drift"] == 0  # the export says: no groups yet
    # The export still shows no groups, but this app placed them: no drift ...
    assert main([*base, "--json", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["drift"] == 0
    # ... except where someone changed the server by hand since.
    with fast_client(server.url) as client:
        ids = {name: uid for uid, name in server.dump()["users"].items()}
        engineering = client.find_group("Engineering")["id"]
        client.modify_members(engineering, [ids["user00000@ex.com"]], [])
    assert main([*base, "--json", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["drift"] == 1
    # An export written after the sync no longer has the sync's changes discounted.
    os.utime(export, None)
    assert main([*base, "--json", "--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["drift"] == 6


def test_apply_of_a_saved_plan_is_journaled_but_never_the_guards_reference(
    scim_server, cli, tmp_path, capsys
):
    more = make_users(12, VALUES)
    server = scim_server(more)
    assert cli(server.url, make_users(10, VALUES)) == 0  # the reference: 10 users
    plan = tmp_path / "plan.json"
    assert cli(server.url, more, "--dry-run", "--plan-out", str(plan)) == 0
    assert main(["apply", str(plan)]) == 0
    applied = list_runs()[-1]
    assert applied.mode.startswith("apply of plan ") and applied.status == "done"
    assert applied.verify is not None
    assert applied.start["export"]["users"] is None and applied.summary()["added"] == 2
    capsys.readouterr()
    assert cli(server.url, make_users(7, VALUES)) == 2  # 30% fewer than run 1's 10 users
    assert "used 10 (30% fewer) (run 1," in capsys.readouterr().err
