"""How the server was read, said alike everywhere (issue 25): --json of sync, dry run and
apply, and the journal's `reads` record; the evidence /Schemas gives; the server's final state
asserted."""

from __future__ import annotations

import json

from app.cli import main
from app.io.journal import list_runs, read_run
from app.scim.http.features import members_returned
from app.scim.sync import SyncSettings, read_server_state
from app.scim.sync.group_reads import SHOWN, groups_read_json
from tests.scim_fixtures import TOKEN, fast_client, make_mapping
from tests.test_scim_hostile import export, seeded, sync
from tests.test_scim_hostile_servers import cli_sync

ROWS = [("a@x", "sales"), ("b@x", "sales"), ("c@x", "eng"), ("d@x", "eng"), ("e@x", "eng")]


def capped_server(fake_scim):
    """Sales holds a, b and three outsiders; the list shows 2 members a group, users carry no
    `groups`: the sample of single reads finds the cap."""
    fake = fake_scim("list_capped", cap=2, user_groups=False)
    outsiders = [f"outsider{i}@x" for i in range(3)]
    ids = seeded(fake, [*(e for e, _ in ROWS), *outsiders])
    sales = fake.add_group("Sales", [ids[e] for e in ["a@x", "b@x", *outsiders]])
    eng = fake.add_group("Eng", [ids["outsider0@x"]])
    return fake, sales, eng


def reads_record(run_id: int | None = None):
    runs = list_runs()
    run = next(r for r in runs if run_id is None or r.run_id == run_id)
    return read_run(run.path).reads


def test_dry_run_apply_and_sync_report_the_reads_alike(fake_scim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    fake, sales, eng = capped_server(fake_scim)
    assert cli_sync(tmp_path, fake.url, ROWS, "--dry-run", "--json") == 0
    dry = json.loads(capsys.readouterr().out)
    assert dry["groups_read"]["single"] == 2 and dry["groups_read"]["list"] == 0
    assert "the list is capped" in dry["groups_read"]["why"]
    assert dry["groups_read"]["evidence"] == "sample"
    assert dry["requests_by_kind"]["single_reads"] == 2
    assert sum(dry["requests_by_kind"].values()) == dry["requests"]
    assert reads_record()["groups_read"] == dry["groups_read"]  # the dry run's journal
    assert not fake.writes()

    plan = tmp_path / "plan.json"
    assert cli_sync(tmp_path, fake.url, ROWS, "--dry-run", "--plan-out", str(plan)) == 0
    capsys.readouterr()
    assert main(["apply", str(plan), "--json"]) == 0
    applied = json.loads(capsys.readouterr().out)
    assert applied["groups_read"] == dry["groups_read"]  # the gate's read, judged the same
    assert sum(applied["requests_by_kind"].values()) == applied["requests"]
    assert reads_record()["groups_read"] == dry["groups_read"]
    assert fake.members(sales) == {"a@x", "b@x", "outsider0@x", "outsider1@x", "outsider2@x"}
    assert fake.members(eng) == {"c@x", "d@x", "e@x", "outsider0@x"}

    assert cli_sync(tmp_path, fake.url, ROWS, "--json") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["groups_read"] == dry["groups_read"] and again["added"] == 0
    assert sum(again["requests_by_kind"].values()) == again["requests"]
    assert reads_record()["requests_by_kind"]["single_reads"] == 2


def test_the_journal_names_only_the_groups_read_against_the_common_way(
    fake_scim, tmp_path, monkeypatch, capsys
):
    """The list is trusted (users' `groups` agree with it); Eng is listed without members:
    the record names Eng alone, and `history` shows it."""
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    fake = fake_scim()
    ids = seeded(fake, [e for e, _ in ROWS])
    fake.add_group("Sales", [ids["a@x"]])
    eng = fake.add_group("Eng", [ids["d@x"]])
    shown = fake._visible_groups

    def eng_without_members(query):
        return [{k: v for k, v in g.items() if g["id"] != eng or k != "members"}
                for g in shown(query)]

    monkeypatch.setattr(fake, "_visible_groups", eng_without_members)
    assert cli_sync(tmp_path, fake.url, ROWS, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    read = out["groups_read"]
    assert read["list"] == 1 and read["single"] == 1 and read["evidence"] == "users"
    assert read["fell_back"] == {"Eng": "listed without members"}
    record = reads_record()
    assert record["groups_read"] == read
    assert fake.members(fake.groups_named("Sales")[0]) == {"a@x", "b@x"}
    assert fake.members(eng) == {"c@x", "d@x", "e@x"}
    run_id = next(iter(list_runs())).run_id
    assert main(["history", str(run_id)]) == 0
    text = capsys.readouterr().out
    assert "1 group(s) from the group list, 1 one by one" in text
    assert "Eng read one by one: listed without members" in text


def test_the_reads_record_stays_small_for_thousands_of_groups():
    read_by = {f"G{i}": "single" for i in range(3000)}
    fell_back = {f"G{i}": "listed without members" for i in range(3000)}
    summary = groups_read_json(read_by, "why", "users", fell_back)
    assert len(summary["fell_back"]) == SHOWN and summary["fell_back_more"] == 3000 - SHOWN
    assert len(json.dumps(summary)) < 5_000


def test_history_still_reads_a_journal_without_a_reads_record(
    fake_scim, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    fake, sales, eng = capped_server(fake_scim)
    assert cli_sync(tmp_path, fake.url, ROWS) == 0
    capsys.readouterr()
    run = next(iter(list_runs()))
    lines = run.path.read_text("utf-8").splitlines()
    old = [line for line in lines if not line.startswith('{"type": "reads"')]
    assert len(old) == len(lines) - 1
    run.path.write_text("\n".join(old) + "\n", "utf-8")  # as runs before issue 25 wrote it
    assert main(["history", str(run.run_id), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["reads"] is None and shown["added"] >= 1
    assert main(["history", str(run.run_id)]) == 0
    assert "Read the server" not in capsys.readouterr().out
    assert main(["undo", str(run.run_id), "--url", fake.url, "--allow-mass-removal"]) == 0
    assert fake.members(eng) == {"outsider0@x"}  # the run's adds undone, from the old journal
    assert fake.members(sales) == {"a@x", "b@x", "outsider0@x", "outsider1@x", "outsider2@x"}


def test_members_returned_on_request_are_asked_for_by_name(fake_scim):
    """/Schemas says members come on request: the list is asked again naming them and judged
    as any list; c, d and e leave Sales (read as empty, they would have stayed)."""
    fake = fake_scim("members_on_request", user_groups=False)
    ids = seeded(fake, [e for e, _ in ROWS] + ["outsider@x"])
    sales = fake.add_group("Sales", [ids[e] for e, _ in ROWS] + [ids["outsider@x"]])
    eng = fake.add_group("Eng", [ids["outsider@x"]])
    mapping = make_mapping({"sales": "Sales", "eng": "Eng"}, apply_existing=True)
    with fast_client(fake.url) as client:
        state = read_server_state(client, export(*ROWS), mapping, SyncSettings(fake.url, TOKEN))
    assert "asked for by name" in state.groups_judged and state.groups_list_trusted
    schema_reads = [r for r in fake.records if r[1].startswith("/Schemas")]
    assert len(schema_reads) == 1
    _, result = sync(fake.url, export(*ROWS), mapping)
    assert not result.failed and not result.not_kept and not result.unverified
    assert fake.members(sales) == {"a@x", "b@x", "outsider@x"}
    assert fake.members(eng) == {"c@x", "d@x", "e@x", "outsider@x"}


def test_a_list_showing_members_costs_no_schema_read(fake_scim):
    fake = fake_scim(user_groups=False)
    ids = seeded(fake, [e for e, _ in ROWS])
    fake.add_group("Sales", [ids["a@x"]])
    _, result = sync(fake.url, export(*ROWS), make_mapping({"sales": "Sales"}))
    assert not result.failed
    assert not [r for r in fake.records if r[1].startswith("/Schemas")]


def test_the_schema_alone_never_trusts_a_capped_list(fake_scim, monkeypatch):
    """Members on request, and the list asked for them still caps them at 1: the sample of
    single reads says so, and every group is read singly."""
    fake = fake_scim("members_on_request", user_groups=False)
    ids = seeded(fake, [e for e, _ in ROWS])
    sales = fake.add_group("Sales", [ids[e] for e, _ in ROWS])
    shown = fake._visible_groups
    monkeypatch.setattr(fake, "_visible_groups", lambda query: [
        {**g, "members": g["members"][:1]} if "members" in g else g for g in shown(query)
    ])
    mapping = make_mapping({"sales": "Sales", "eng": "Eng"}, apply_existing=True)
    with fast_client(fake.url) as client:
        state = read_server_state(client, export(*ROWS), mapping, SyncSettings(fake.url, TOKEN))
    assert "the list is capped" in state.groups_judged and not state.groups_list_trusted
    assert state.groups_read_by == {"Sales": "single"}
    _, result = sync(fake.url, export(*ROWS), mapping)
    assert not result.failed
    assert fake.members(sales) == {"a@x", "b@x"}


def test_members_returned_reads_the_group_schema():
    def schema(returned):
        return {"id": "urn:ietf:params:scim:schemas:core:2.0:Group",
                "attributes": [{"name": "members", "returned": returned}]}

    assert members_returned(schema("Request")) == "request"
    assert members_returned({"Resources": [schema("never")]}) == "never"
    assert members_returned({"Resources": []}) == ""
    assert members_returned({"id": "urn:other", "attributes": []}) == ""


def test_a_server_without_a_usable_schema_reads_its_groups_singly(fake_scim, monkeypatch):
    """/Schemas answers a list where an object belongs: no evidence, not an error; the
    groups are read one by one (and their members, absent, stay unknown: nothing removed)."""
    fake = fake_scim("members_on_request", user_groups=False)
    ids = seeded(fake, [e for e, _ in ROWS])
    sales = fake.add_group("Sales", [ids[e] for e, _ in ROWS])
    monkeypatch.setattr(fake, "_schema", lambda segments: (200, ["not", "a", "schema"]))
    mapping = make_mapping({"sales": "Sales", "eng": "Eng"}, apply_existing=True)
    with fast_client(fake.url) as client:
        state = read_server_state(client, export(*ROWS), mapping, SyncSettings(fake.url, TOKEN))
    assert state.groups_read_by == {"Sales": "single"} and not state.groups_list_trusted
    assert state.groups_judged.endswith(": groups read singly")
    _, result = sync(fake.url, export(*ROWS), mapping)
    assert fake.members(sales) == {e for e, _ in ROWS}  # nothing removed on no evidence
