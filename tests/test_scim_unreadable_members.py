"""Groups whose members no read shows (issue 22/25): never written blind. Where the users'
`groups` witness the members, the sync writes only what is missing and its undo removes only
what it added; where nothing does, the group is refused with one line. The fake server's
final state is asserted: the hand-made members stay."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.io.journal import list_runs
from app.scim.sync import SyncSettings, execute, plan_sync, read_server_state
from tests.scim_fixtures import TOKEN, fast_client, make_mapping
from tests.test_scim_hostile import export, seeded
from tests.test_scim_hostile_servers import cli_sync

ROWS = [("a@x", "sales"), ("b@x", "sales"), ("c@x", "eng")]
REFUSAL = (
    "does not return the members of Sales (/Schemas: returned never) and its users do not "
    "list their groups: GroupMap cannot see who is in it, so it does not write to it"
)


def hand_made(fake):
    """Sales holds a (an export user the mapping puts there) and hand (not in the export),
    both placed by hand; Eng does not exist yet."""
    fake.ids = seeded(fake, ["a@x", "b@x", "c@x", "hand@x"])
    return fake.add_group("Sales", [fake.ids["a@x"], fake.ids["hand@x"]])


def writes_to(fake, group_id: str) -> list:
    return [w for w in fake.writes() if w[1] == f"/Groups/{group_id}"]


def undo_last(url: str) -> int:
    run_id = list_runs()[-1].run_id
    return main(["undo", str(run_id), "--url", url, "--allow-mass-removal", "--json"])


def test_a_group_nobody_can_see_into_is_never_written(fake_scim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    fake = fake_scim("members_never")
    sales = hand_made(fake)
    assert cli_sync(tmp_path, fake.url, ROWS) == 1
    err = capsys.readouterr().err
    assert writes_to(fake, sales) == []  # read as empty, a and b would have been "added"
    assert fake.members(sales) == {"a@x", "hand@x"}
    refusals = [line for line in err.splitlines() if REFUSAL in line]
    assert len(refusals) == 1 and fake.url in refusals[0] and "b@x" not in refusals[0]
    assert "change the group by hand" in refusals[0]
    assert fake.members(fake.groups_named("Eng")[0]) == {"c@x"}  # a new group: written
    assert main(["history", str(list_runs()[-1].run_id)]) == 0
    assert "\n  Sales not written to: " + fake.url in capsys.readouterr().out
    assert undo_last(fake.url) == 0  # the add to the new Eng cannot be seen: left as is
    assert fake.members(sales) == {"a@x", "hand@x"}


def test_the_dry_run_says_the_group_will_not_be_written(fake_scim, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    fake = fake_scim("members_never")
    hand_made(fake)
    assert cli_sync(tmp_path, fake.url, ROWS, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Not to be written (1), their members unseen:" in out and REFUSAL in out
    assert fake.writes() == []


@pytest.mark.parametrize("rewitnessed", [False, True])
def test_members_seen_from_the_users_side_are_kept_and_undo_removes_only_the_runs_adds(
    fake_scim, tmp_path, monkeypatch, capsys, rewitnessed
):
    """rewitnessed: every group is read again right before its write (as in a paced run
    writing for hours), from the users' `groups` again."""
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    if rewitnessed:
        monkeypatch.setattr("app.scim.sync.run.MAX_WITNESS_AGE", -1.0)
    fake = fake_scim("members_never_user_groups")
    sales = hand_made(fake)
    assert cli_sync(tmp_path, fake.url, ROWS, "--json") == 0
    out = json.loads(capsys.readouterr().out)
    assert out["added"] == 2 and out["failed"] == 0  # b to Sales, c to the new Eng
    assert out["groups_read"]["from_users"] == {"Sales": "/Schemas: returned never"}
    assert main(["history", str(list_runs()[-1].run_id)]) == 0
    assert "Sales members from the users' `groups`: /Schemas" in capsys.readouterr().out
    patches = [w for w in writes_to(fake, sales) if w[0] == "PATCH"]
    sent = [m["value"] for w in patches for op in w[3]["Operations"] for m in op["value"]]
    assert sent == [fake.ids["b@x"]]  # b alone: a was already there
    assert fake.members(sales) == {"a@x", "b@x", "hand@x"}
    assert undo_last(fake.url) == 0
    undone = json.loads(capsys.readouterr().out)
    assert undone["removed"] == 2 and undone["left_as_is"] == []
    assert fake.members(sales) == {"a@x", "hand@x"}  # a, there before the run, stays
    assert fake.members(fake.groups_named("Eng")[0]) == set()


def test_users_naming_members_the_reads_omit_are_evidence_without_schemas(fake_scim, monkeypatch):
    """No /Schemas: the users' `groups` alone show that the reads leave members out."""
    fake = fake_scim("members_never_user_groups")
    monkeypatch.setattr(fake, "_schema", lambda segments: (404, {"detail": "no /Schemas"}))
    sales = hand_made(fake)
    _, result = sync(fake.url)
    assert not result.failed
    assert fake.members(sales) == {"a@x", "b@x", "hand@x"}
    assert writes_to(fake, sales)[0][3]["Operations"][0]["value"] == [{"value": fake.ids["b@x"]}]


def test_a_member_count_above_what_reads_show_refuses_the_group(fake_scim, monkeypatch):
    """No /Schemas, no users' `groups`: the list's memberCount is the evidence."""
    fake = fake_scim("members_never")
    monkeypatch.setattr(fake, "_schema", lambda segments: (404, {"detail": "no /Schemas"}))
    shown = fake._visible_groups
    monkeypatch.setattr(fake, "_visible_groups", lambda query: [
        {**g, "memberCount": len(fake.groups[g["id"]]["members"])} for g in shown(query)
    ])
    sales = hand_made(fake)
    _, result = sync(fake.url)
    assert writes_to(fake, sales) == [] and fake.members(sales) == {"a@x", "hand@x"}
    (failure,) = result.failed
    assert failure.group == "Sales" and failure.emails == ["a@x", "b@x"]
    assert "(its member count 2 is above the 0 its reads show)" in failure.reason


def test_a_plan_read_again_at_the_gate_is_refused_the_same(fake_scim):
    """An old plan (a saved plan, a preview left open): the gate's read decides."""
    fake = fake_scim("members_never")
    sales = hand_made(fake)
    users, mapping = export(*ROWS), make_mapping({"sales": "Sales", "eng": "Eng"})
    settings = SyncSettings(fake.url, TOKEN, max_removal_ratio=1.0)
    with fast_client(fake.url) as client:
        plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings),
                         settings)
        plan.state.read_at, plan.state.groups_unseen = 0.0, {}  # as a plan file holds it
        result = execute(client, plan, settings)
    assert [f.group for f in result.failed] == ["Sales"] and REFUSAL in result.failed[0].reason
    assert writes_to(fake, sales) == [] and fake.members(sales) == {"a@x", "hand@x"}


def sync(url):
    settings = SyncSettings(url, TOKEN, max_removal_ratio=1.0)
    users, mapping = export(*ROWS), make_mapping({"sales": "Sales", "eng": "Eng"})
    with fast_client(url) as client:
        state = read_server_state(client, users, mapping, settings)
        return state, execute(client, plan_sync(users, mapping, state, settings), settings)


def test_a_group_adopted_on_create_keeps_the_members_it_had(
    fake_scim, tmp_path, monkeypatch, capsys
):
    """Eng is made by hand (with c) between the read and the create: the create is answered
    409 and the group adopted; its users say c was there, so undo leaves c in it."""
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    fake = fake_scim("members_never_user_groups")
    hand_made(fake)
    route = fake._route

    def made_meanwhile(method, segments, query, body):
        if method == "POST" and segments == ["Groups"]:
            fake.add_group(body["displayName"], [fake.ids["c@x"], fake.ids["hand@x"]])
            return 409, {"status": "409", "scimType": "uniqueness", "detail": "exists"}
        return route(method, segments, query, body)

    monkeypatch.setattr(fake, "_route", made_meanwhile)
    assert cli_sync(tmp_path, fake.url, ROWS) == 0
    (eng,) = fake.groups_named("Eng")
    assert [w for w in fake.writes() if w[1] == f"/Groups/{eng}"] == []  # c was there already
    assert undo_last(fake.url) == 0
    assert fake.members(eng) == {"c@x", "hand@x"}


def test_users_not_all_read_yet_are_listed_once_for_the_hidden_groups(fake_scim):
    """Pages of 2: the export's users are found before the last user page, so the users are
    listed once more, for their `groups`, before Sales is written."""
    fake = fake_scim("members_never_user_groups")
    sales = hand_made(fake)
    fake.groups[sales]["members"].append(fake.add_user("late@x"))  # on the last page
    seeded(fake, ["x1@x", "x2@x", "x3@x"])
    settings = SyncSettings(fake.url, TOKEN, max_removal_ratio=1.0)
    users, mapping = export(*ROWS), make_mapping({"sales": "Sales", "eng": "Eng"})
    with fast_client(fake.url, page_size=2) as client:
        state = read_server_state(client, users, mapping, settings)
        assert not state.users_complete and state.groups_unseen == {}
        assert state.groups_from_users == {"Sales": "/Schemas: returned never"}
        result = execute(client, plan_sync(users, mapping, state, settings), settings)
    assert not result.failed
    listed = [r for r in fake.records if r[1] == "/Users" and r[2].get("attributes") == "id,groups"]
    assert listed  # the second listing, for the users' `groups`
    assert fake.members(sales) == {"a@x", "b@x", "hand@x", "late@x"}
    patches = [w for w in writes_to(fake, sales) if w[0] == "PATCH"]
    assert [m["value"] for w in patches for op in w[3]["Operations"] for m in op["value"]] == [
        fake.ids["b@x"]
    ]


def test_a_retry_of_the_refused_group_is_refused_again(fake_scim):
    from app.scim.sync.retry import retry_failed

    fake = fake_scim("members_never")
    sales = hand_made(fake)
    _, result = sync(fake.url)
    assert [f.group for f in result.failed] == ["Sales"]
    settings = SyncSettings(fake.url, TOKEN, max_removal_ratio=1.0)
    for read_at in (result.plan.state.read_at, 0.0):  # its own witness, then read again
        result.plan.state.read_at = read_at
        with fast_client(fake.url) as client:
            again = retry_failed(client, result, settings)
        assert [f.group for f in again.failed] == ["Sales"] and REFUSAL in again.failed[0].reason
    assert writes_to(fake, sales) == [] and fake.members(sales) == {"a@x", "hand@x"}


def test_the_apps_preview_says_the_group_will_not_be_written(fake_scim):
    from app.ui.server.sync_preview import plan_summary

    fake = fake_scim("members_never")
    hand_made(fake)
    settings = SyncSettings(fake.url, TOKEN)
    users, mapping = export(*ROWS), make_mapping({"sales": "Sales", "eng": "Eng"})
    with fast_client(fake.url) as client:
        plan = plan_sync(users, mapping, read_server_state(client, users, mapping, settings),
                         settings)
    assert f"\nNot to be written: {fake.url} {REFUSAL}" in plan_summary(plan)
