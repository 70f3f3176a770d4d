"""`--users scim:ATTRIBUTE`: the users and their value read from the sync's own server (the
real scim2-server, users carrying the enterprise extension), through everything a file
goes through: preview, sync, the source guard, the journal."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from app.cli import main
from app.io.journal import list_runs
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN

CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
DEPARTMENT = f"{ENTERPRISE}:department"
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
HTTP = httpx.Client()  # one for the module: each new client loads the CA bundle (~20 ms)


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


@pytest.fixture
def mapping(tmp_path: Path) -> Path:
    path = tmp_path / "mapping.csv"
    path.write_text(
        "Value in Identity Provider,Group\nSales,Sales Team\nEngineering,Engineers\n",
        encoding="utf-8",
    )
    return path


def add_user(url: str, email: str, department: str = "", **extra: object) -> str:
    """A user as an identity provider pushes it: the department in the enterprise extension."""
    record: dict[str, object] = {"schemas": [CORE], "userName": email, **extra}
    if department:
        record["schemas"] = [CORE, ENTERPRISE]
        record[ENTERPRISE] = {"department": department}
    answer = HTTP.post(f"{url}/Users", json=record, headers=HEADERS)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


def set_department(url: str, user_id: str, department: str) -> None:
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": DEPARTMENT, "value": department}],
    }
    assert HTTP.patch(f"{url}/Users/{user_id}", json=patch, headers=HEADERS).is_success


def members(url: str) -> dict[str, set[str]]:
    """Group name -> userNames of its members, as the server holds them."""
    users = HTTP.get(f"{url}/Users", headers=HEADERS).json()["Resources"]
    names = {u["id"]: u["userName"] for u in users}
    groups = HTTP.get(f"{url}/Groups", headers=HEADERS).json().get("Resources", [])
    return {
        g["displayName"]: {names.get(m["value"], "(deleted)") for m in g.get("members", [])}
        for g in groups
    }


def seeded(scim_server, n: int = 10) -> tuple[str, dict[str, str]]:
    """n users, even ones in Sales and odd ones in Engineering; user 9 without a value."""
    url = scim_server().url
    ids = {}
    for i in range(n):
        department = "" if i == 9 else ("Sales" if i % 2 == 0 else "Engineering")
        ids[f"u{i}@ex.com"] = add_user(url, f"u{i}@ex.com", department)
    return url, ids


def sync(url: str, mapping: Path, *extra: str) -> int:
    return main(["sync", "--users", f"scim:{DEPARTMENT}", "--mapping", str(mapping),
                 "--url", url, *extra])


def test_preview_reads_the_enterprise_department_from_the_server(
    scim_server, mapping, capsys
):
    url, _ = seeded(scim_server)
    assert main(["preview", "--users", f"scim:{DEPARTMENT}", "--mapping", str(mapping),
                 "--url", url, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["users"] == 10 and report["unmatched"] == 1
    groups = {g["name"]: g["after"] for g in report["groups"]}
    assert groups == {"Sales Team": 5, "Engineers": 4}
    assert report["source"] == {"kind": "scim", "url": url, "attribute": DEPARTMENT,
                                "users": 10}


def test_the_preview_workbook_says_where_the_values_came_from(scim_server, mapping, tmp_path):
    import pandas as pd

    url, _ = seeded(scim_server, 2)
    out = tmp_path / "preview.xlsx"
    assert main(["preview", "--users", f"scim:{DEPARTMENT}", "--mapping", str(mapping),
                 "--url", url, "--out", str(out)]) == 0
    options = pd.read_excel(out, sheet_name="Options", engine="openpyxl", dtype=str)
    column = options.loc[options["Option"] == "Source column", "Value"].item()
    assert column == f"scim:{DEPARTMENT} from {url}"


def test_sync_places_users_by_their_server_value_then_follows_a_change(
    scim_server, mapping, capsys, journal_folder
):
    url, ids = seeded(scim_server)
    assert sync(url, mapping) == 0
    placed = members(url)
    assert placed["Sales Team"] == {f"u{i}@ex.com" for i in (0, 2, 4, 6, 8)}
    assert placed["Engineers"] == {f"u{i}@ex.com" for i in (1, 3, 5, 7)}
    start = list_runs(url)[-1].start
    assert start["source"] == {"kind": "scim", "url": url, "attribute": DEPARTMENT,
                               "users": 10}
    assert start["export"]["users"] == 10
    capsys.readouterr()
    assert main(["history", str(list_runs(url)[-1].run_id)]) == 0
    assert f"Source scim:{DEPARTMENT} from {url} (10 users)" in capsys.readouterr().out
    # the identity provider moves u1 to Sales: the current groups are the server's own,
    # so with --apply-existing the next run moves them, and nothing else changes
    set_department(url, ids["u1@ex.com"], "Sales")
    assert sync(url, mapping, "--apply-existing") == 0
    moved = members(url)
    assert "u1@ex.com" in moved["Sales Team"] and "u1@ex.com" not in moved["Engineers"]
    assert moved["Engineers"] == {f"u{i}@ex.com" for i in (3, 5, 7)}


def test_source_guard_stops_a_source_that_suddenly_lists_half_its_users(
    scim_server, mapping, capsys
):
    url, ids = seeded(scim_server)
    assert sync(url, mapping) == 0
    before = members(url)
    for i in range(5):  # half the users gone from the source, and a value changed
        gone = HTTP.delete(f"{url}/Users/{ids[f'u{i}@ex.com']}", headers=HEADERS)
        assert gone.status_code == 204
    set_department(url, ids["u5@ex.com"], "Sales")
    capsys.readouterr()
    assert sync(url, mapping, "--apply-existing") == 2
    err = capsys.readouterr().err
    assert "has 5 users; the last sync to this server used 10 (50% fewer)" in err
    after = members(url)  # nothing was written: u5 stays where the last sync put them
    assert after["Engineers"] == before["Engineers"] - {"u1@ex.com", "u3@ex.com"} | {"(deleted)"}
    assert "u5@ex.com" not in after["Sales Team"]


def test_multi_valued_attribute_gives_several_values(scim_server, tmp_path, capsys):
    url = scim_server().url
    add_user(url, "both@ex.com", roles=[{"value": "Sales"}, {"value": "Engineering"}])
    add_user(url, "one@ex.com", roles=[{"value": "Engineering"}])
    mapping = tmp_path / "m.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,S\nEngineering,E\n",
                       encoding="utf-8")
    assert main(["preview", "--users", "scim:roles", "--mapping", str(mapping), "--url", url,
                 "--multiple-groups", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {g["name"]: g["after"] for g in report["groups"]} == {"S": 1, "E": 2}


def test_status_and_groups_come_from_the_server(scim_server, mapping, capsys):
    from app.scim.http.client import ScimClient
    from app.sources.scim import read_scim

    url = scim_server(extra_groups=None).url
    uid = add_user(url, "off@ex.com", "Sales", active=False)
    group = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
             "displayName": "Old", "members": [{"value": uid}]}
    assert HTTP.post(f"{url}/Groups", json=group, headers=HEADERS).status_code == 201
    with ScimClient(url, TOKEN) as client:
        users, info = read_scim(client, DEPARTMENT)
    row = users.frame.iloc[0]
    assert (row["email"], row["status"], row["source"], row["groups"]) == (
        "off@ex.com", "Inactive", "Sales", "Old")
    assert info.users == 1


def test_a_server_that_refuses_the_token_exits_3_without_the_token(
    scim_server, mapping, capsys, monkeypatch
):
    url, _ = seeded(scim_server, 2)
    monkeypatch.setenv("GROUPMAP_TOKEN", "wrong-token-1234567")
    assert sync(url, mapping) == 3
    err = capsys.readouterr().err
    assert f"could not read the users of {url}" in err and "wrong-token-1234567" not in err
    assert members(url) == {}


def test_a_live_source_goes_alone(mapping, tmp_path, capsys):
    users = tmp_path / "u.csv"
    users.write_text("Email\na@ex.com\n", encoding="utf-8")
    assert main(["preview", "--users", str(users), "--users", "entra:department",
                 "--mapping", str(mapping)]) == 2
    assert "give it alone" in capsys.readouterr().err
    assert main(["preview", "--users", "okta:", "--mapping", str(mapping)]) == 2
    assert "okta:profile.department" in capsys.readouterr().err


def test_a_plan_made_from_a_live_source_is_saved_and_applied(scim_server, mapping, tmp_path,
                                                              capsys):
    url, _ = seeded(scim_server, 4)
    plan = tmp_path / "plan.json"
    assert sync(url, mapping, "--dry-run", "--plan-out", str(plan)) == 0
    assert members(url) == {}  # the dry run wrote nothing
    assert json.loads(plan.read_text("utf-8"))["export"]["files"] == []
    assert main(["apply", str(plan)]) == 0
    assert members(url) == {"Sales Team": {"u0@ex.com", "u2@ex.com"},
                            "Engineers": {"u1@ex.com", "u3@ex.com"}}
    capsys.readouterr()
    assert main(["apply", str(plan), "--replan"]) == 2
    assert "this plan was made from a live source" in capsys.readouterr().err


def users_listed(proxy) -> list[dict[str, str]]:
    """The queries of the GET /Users lists the proxy passed on (not reads of one user)."""
    return [r.query for r in proxy.records if r.method == "GET" and r.path == "/Users"]


def test_a_sync_reads_the_users_of_its_own_server_once(scim_server, fault_proxy, mapping,
                                                        capsys):
    url, ids = seeded(scim_server)
    proxy = fault_proxy(url)
    assert sync(proxy.url, mapping, "--json") == 0
    listed = users_listed(proxy)
    assert len(listed) == 1  # the source's listing is the sync's too
    assert "groups" in listed[0]["attributes"].split(",")
    placed = members(url)
    assert placed["Sales Team"] == {f"u{i}@ex.com" for i in (0, 2, 4, 6, 8)}
    assert placed["Engineers"] == {f"u{i}@ex.com" for i in (1, 3, 5, 7)}
    # and the next run, after the identity provider moved u1, still reads /Users once
    set_department(url, ids["u1@ex.com"], "Sales")
    proxy.records.clear()
    assert sync(proxy.url, mapping, "--apply-existing", "--json") == 0
    assert len(users_listed(proxy)) == 1
    assert "u1@ex.com" in members(url)["Sales Team"]


def test_a_sync_writing_an_attribute_reads_it_in_the_same_listing(scim_server, fault_proxy,
                                                                   tmp_path, capsys):
    url, _ = seeded(scim_server, 4)
    proxy = fault_proxy(url)
    mapping = tmp_path / "roles.csv"
    mapping.write_text("Value in Identity Provider,Group\nSales,Seller\nEngineering,Builder\n",
                       encoding="utf-8")
    assert sync(proxy.url, mapping, "--target", "attribute", "--attribute", "title",
                "--json") == 0
    listed = users_listed(proxy)
    assert len(listed) == 1 and "title" in listed[0]["attributes"].split(",")
    users = HTTP.get(f"{url}/Users", headers=HEADERS).json()["Resources"]
    assert {u["userName"]: u.get("title") for u in users} == {
        "u0@ex.com": "Seller", "u1@ex.com": "Builder", "u2@ex.com": "Seller",
        "u3@ex.com": "Builder"}


def test_the_shared_listing_is_paged_as_the_sync_pages(scim_server, fault_proxy, mapping,
                                                       capsys):
    url, _ = seeded(scim_server)
    proxy = fault_proxy(url)
    assert sync(proxy.url, mapping, "--page-size", "4", "--json") == 0
    listed = users_listed(proxy)
    assert sorted(int(q["startIndex"]) for q in listed) == [1, 5, 9]  # 10 users, 4 a page
    assert {q["count"] for q in listed} == {"4"}
    assert len(members(url)["Sales Team"]) == 5
