"""Hostile servers of issue 23: each test fails on a GroupMap that trusts the server too far,
and asserts what the server holds afterwards."""

from __future__ import annotations

import json

import pytest

from app.cli import main
from app.scim.http.errors import BadAnswer, ConnectError, ScimError
from app.scim.http.protocol import member_ids
from app.scim.sync import SyncSettings, read_server_state
from tests.scim_fixtures import TOKEN, fast_client, make_mapping
from tests.test_scim_hostile import export, seeded, sync

SALES = make_mapping({"sales": "Sales", "eng": "Eng"}, apply_existing=True)


def hundred_in_sales(fake) -> tuple[dict[str, str], str]:
    ids = seeded(fake, [f"u{i:03d}@x" for i in range(100)] + ["new@x"])
    sales = fake.add_group("Sales", [ids[f"u{i:03d}@x"] for i in range(100)])
    return ids, sales


@pytest.mark.parametrize("small_export", [False, True])
def test_put_only_server_capping_single_reads_never_loses_members(fake_scim, small_export):
    """No PATCH, GET /Groups/{id} lists 10 of 100 members, users carry no `groups`: the group
    list shows all 100, so the short single read is refused, never written back."""
    fake = fake_scim("put_only_capped", cap=10, user_groups=False)
    ids, sales = hundred_in_sales(fake)
    stay = range(3) if small_export else range(100)  # 3 of 100: read by filter
    users = export(*((f"u{i:03d}@x", "sales") for i in stay), ("new@x", "sales"))
    _, result = sync(fake.url, users)
    assert fake.groups[sales]["members"] == [ids[f"u{i:03d}@x"] for i in range(100)]
    assert not [w for w in fake.writes() if w[0] == "PUT"]
    (failure,) = result.failed
    assert failure.group == "Sales" and failure.operation == "add"
    assert fake.url in failure.reason and "capped or incomplete" in failure.reason
    assert "at least 90 more" in failure.reason


def test_put_only_server_without_any_witness_refuses(fake_scim, monkeypatch):
    """A capped single read and no second source (the list leaves members out, users carry
    no `groups`, no count): nothing to tell it from a complete one, so nothing is sent."""
    fake = fake_scim("put_only_capped", cap=10, user_groups=False)
    ids, sales = hundred_in_sales(fake)
    listing = fake._visible_groups
    monkeypatch.setattr(
        fake,
        "_visible_groups",
        lambda query: [{k: v for k, v in g.items() if k != "members"} for g in listing(query)],
    )
    _, result = sync(fake.url, export(("u000@x", "sales"), ("new@x", "sales")))
    assert len(fake.groups[sales]["members"]) == 100
    assert not [w for w in fake.writes() if w[0] == "PUT"]
    (failure,) = result.failed
    assert "nothing else confirms that is all of them" in failure.reason


def test_put_only_server_with_a_complete_read_confirmed_by_the_list_is_replaced(fake_scim):
    fake = fake_scim("put_only_capped", cap=1000, user_groups=False)
    ids, sales = hundred_in_sales(fake)
    rows = [(f"u{i:03d}@x", "sales") for i in range(99)] + [("u099@x", "eng")]
    _, result = sync(fake.url, export(*rows, ("new@x", "sales")))
    assert not result.failed
    assert fake.members(sales) == {f"u{i:03d}@x" for i in range(99)} | {"new@x"}


def test_members_with_only_a_ref_are_read_by_their_id(fake_scim):
    """`$ref` without `value`: a@x stays, b@x is removed, c@x added; nothing counted twice."""
    fake = fake_scim("ref_members")
    ids = seeded(fake, ["a@x", "b@x", "c@x", "outsider@x"])
    sales = fake.add_group("Sales", [ids["a@x"], ids["b@x"], ids["outsider@x"]])
    eng = fake.add_group("Eng", [])
    users = export(("a@x", "sales"), ("b@x", "eng"), ("c@x", "sales"))
    _, result = sync(fake.url, users)
    assert not result.failed and not result.not_kept
    assert fake.members(sales) == {"a@x", "c@x", "outsider@x"}
    assert fake.members(eng) == {"b@x"}
    assert (result.added, result.removed) == (2, 1)
    writes = len(fake.writes())
    _, again = sync(fake.url, users)
    assert (again.added, again.removed) == (0, 0) and len(fake.writes()) == writes


def test_a_member_with_neither_value_nor_ref_is_refused():
    group = {"members": [{"value": "1"}, {"display": "Ann"}]}
    with pytest.raises(BadAnswer, match="neither `value` nor a `\\$ref`"):
        member_ids(group, "https://x/v2: GET /Groups/7 answered")
    assert member_ids({"members": [{"$ref": "https://x/v2/Users/a%2Fb"}]}) == ["a/b"]


def test_a_dripping_server_is_tried_again_at_most_once(fake_scim):
    """Each attempt ends at the request deadline; the retries do not multiply it."""
    fake = fake_scim("drip", drip=0.05)  # the whole answer would take about 10 s
    client = fast_client(fake.url, request_deadline=0.3, max_attempts=5)
    with client, pytest.raises(ConnectError, match="0.3 s request deadline.*after 2 attempt"):
        client.features()
    assert len(fake.records) == 2


def test_quick_failures_keep_their_attempts(scim_server, fault_proxy):
    server = scim_server()
    proxy = fault_proxy(server.url, fault_rate=1.0, faults=("500",))
    with fast_client(proxy.url, max_attempts=4) as client, pytest.raises(ScimError):
        client.features()
    assert proxy.count() == 4


def cli_sync(tmp_path, url: str, rows: list[tuple[str, str]], *extra: str) -> int:
    users, mapping = tmp_path / "users.csv", tmp_path / "mapping.csv"
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"{email},{email},active,{source}," for email, source in rows]
    users.write_text("\n".join(lines) + "\n", encoding="utf-8")
    mapping.write_text("Value in Identity Provider,Group\nsales,Sales\neng,Eng\n")
    args = ["sync", "--users", str(users), "--mapping", str(mapping), "--url", url]
    return main([*args, "--max-removal-ratio", "1", *extra])


def test_a_retry_after_past_the_deadline_fails_at_once_in_one_line(
    fake_scim, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    fake = fake_scim(retry_after="100000")
    ids = seeded(fake, ["a@x", "b@x", "c@x"])
    sales = fake.add_group("Sales", [ids["c@x"]])
    status = cli_sync(tmp_path, fake.url, [("a@x", "sales"), ("b@x", "eng"), ("c@x", "eng")])
    assert status == 1
    assert len(fake.writes()) == 1  # the first write was answered 429; nothing sent after it
    assert fake.groups[sales]["members"] == [ids["c@x"]] and fake.groups_named("Eng") == []
    failed = [line for line in capsys.readouterr().err.splitlines() if "failed:" in line]
    assert len(failed) == 1
    assert "2 change(s) in 2 group(s)" in failed[0] and "27.8 h (100,000 s)" in failed[0]
    assert "2 h deadline (--deadline)" in failed[0] and "run the sync again later" in failed[0]


def test_endless_paging_without_totals_stops_in_proportion_to_the_export(fake_scim):
    """No totalResults, filters unsupported, every page new: stopped after twice the pages
    the export's users need plus 10, not at the 10,000-page ceiling."""
    fake = fake_scim("endless_pages")
    users = export(*((f"nobody{i}@x", "sales") for i in range(150)))
    settings = SyncSettings(fake.url, TOKEN)
    with fast_client(fake.url) as client, pytest.raises(ScimError) as caught:
        read_server_state(client, users, SALES, settings)
    assert "page after page" in str(caught.value) and "no totalResults, 150 looked for" in str(
        caught.value
    )
    pages = [r for r in fake.records if r[1] == "/Users"]
    assert len(pages) == 150 * 2 + 10  # one user a page: 150 pages needed, twice, plus 10
    assert not fake.writes()


def test_one_account_for_two_export_emails_is_said_on_every_run(
    fake_scim, tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # a journal of its own
    fake = fake_scim()
    shared = fake.add_user("shared", emails=["a@x", "b@x"])
    fake.add_user("c", emails=["c@x"])
    sales = fake.add_group("Sales", [shared])
    rows = [("a@x", "sales"), ("b@x", "eng"), ("c@x", "eng")]
    for _ in range(3):
        assert cli_sync(tmp_path, fake.url, rows, "--match-attribute", "emails", "--json") == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["left_alone"] == 2
        warned = [line for line in err.splitlines() if "left alone" in line]
        assert len(warned) == 2 and all("one server account" in line for line in warned)
        assert fake.groups[sales]["members"] == [shared]
        assert shared not in fake.groups[fake.groups_named("Eng")[0]]["members"]
