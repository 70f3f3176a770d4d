"""Issue 25's reads attacked: servers whose group lists, single reads, pages or users'
`groups` lie in one way each (tests/attack_proxy.py in front of the real scim2-server).

Every attack checks the two promises, at --concurrency 1 and 8: exactness (each export
user's membership of each managed group equals the preview's target after the sync) and
safety (members GroupMap does not manage stay; the undo of the run gives back exactly the
memberships there were before it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from app.cli import main
from app.io import read_users
from app.scim.http.transport import Transport
from app.scim.server import LocalScimServer
from tests.attack_proxy import AttackProxy
from tests.scim_fixtures import TOKEN, expected_groups, make_mapping

GROUPS = [f"G{i}" for i in range(6)]
VALUES = [f"v{i}" for i in range(6)]
EXPORT = 18  # export users; user i's target is G(i % 6)
OUTSIDERS = 4  # server users not in the export, each in some managed groups


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Outcomes, not waiting: the client's backoff does not sleep."""
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)


def _current(i: int) -> str:
    """Where export user i is on the server before the sync: groups of very different sizes
    (G0 large, the rest small), some already right, some to be removed from."""
    if i % 3 == 0:
        return GROUPS[i % 6]  # already placed
    if i % 3 == 1:
        return "G0"  # to be removed from G0 (unless G0 is its target)
    return f"{GROUPS[(i + 1) % 6]};{GROUPS[i % 6]}"  # placed, and in one group too many


def _csv(path: Path, rows: list[str]) -> Path:
    path.write_text("Name,Email,Status,Identity Provider Group,Group\n" + "\n".join(rows) + "\n")
    return path


@pytest.fixture
def world(tmp_path: Path):
    """(server, export file, mapping file): the real server seeded with the export's users in
    their current groups and OUTSIDERS users the export does not name, in managed groups."""
    export = [f"User {i},user{i:03d}@ex.com,active,{VALUES[i % 6]},{_current(i)}"
              for i in range(EXPORT)]
    outsiders = [f"Out {j},out{j}@else.com,active,x,{GROUPS[j]};G5" for j in range(OUTSIDERS)]
    users_file = _csv(tmp_path / "users.csv", export)
    seed = _csv(tmp_path / "seed.csv", export + outsiders)
    mapping = tmp_path / "mapping.csv"
    mapping.write_text("Value in Identity Provider,Group\n"
                       + "".join(f"{v},{g}\n" for v, g in zip(VALUES, GROUPS, strict=True)))
    server = LocalScimServer(read_users([seed]), token=TOKEN)
    server.start()
    yield server, users_file, mapping
    server.stop()


def _memberships(server: LocalScimServer) -> dict[str, set[str]]:
    groups = server.dump()["groups"]
    return {g: set(groups.get(g, set())) for g in GROUPS}


def _targets(users_file: Path) -> dict[str, set[str]]:
    users = read_users([users_file])
    mapping = make_mapping(dict(zip(VALUES, GROUPS, strict=True)), apply_existing=True)
    return expected_groups(users, mapping)


def attack(world, capsys, twist, concurrency: int, page_size: int = 2) -> dict[str, Any]:
    """Sync through a proxy twisting reads, then undo it straight at the server; assert
    exactness after the sync and safety after the undo. The sync's --json."""
    server, users_file, mapping = world
    before = _memberships(server)
    proxy = AttackProxy(server.url, twist)
    proxy.start()
    try:
        capsys.readouterr()
        code = main(["sync", "--users", str(users_file), "--mapping", str(mapping),
                     "--url", proxy.url, "--allow-mass-removal", "--json", "--apply-existing",
                     "--concurrency", str(concurrency), "--page-size", str(page_size)])
        out, err = capsys.readouterr()
        Path("/tmp/a25/last.txt").write_text(out + "\n---\n" + err)
        after = _check(world, before, code, out, err)
        proxy.twist = None  # the undo reads an honest server: the journal alone decides
        undone = main(["undo", "1", "--url", proxy.url, "--allow-mass-removal", "--json"])
    finally:
        proxy.stop()
    assert undone in (0, 1)
    assert _memberships(server) == before, (after, capsys.readouterr().err)
    return json.loads(out) if out.strip().startswith("{") else {"code": code, "err": err}


def _check(world, before, code: int, out: str, err: str) -> dict[str, set[str]]:
    """Exactness where the sync said it succeeded; outsiders kept whatever it said."""
    server, users_file, _ = world
    after = _memberships(server)
    exporters = {f"user{i:03d}@ex.com" for i in range(EXPORT)}
    targets = _targets(users_file)
    for group in GROUPS:
        assert after[group] - exporters == before[group] - exporters, (group, err)
    if code == 0:
        wrong = {g: (after[g] & exporters) ^ targets.get(g, set()) for g in GROUPS}
        assert not any(wrong.values()), (wrong, err, out)
    return after


@pytest.mark.parametrize("concurrency", [1, 8])
def test_an_honest_server_holds(world, capsys, concurrency):
    result = attack(world, capsys, None, concurrency)
    assert result["failed"] == 0


def _group_list(path: str, query: dict[str, str]) -> bool:
    return path == "/Groups" and "filter" not in query


def _cap_page_two(proxy, path, query, body):
    """Group list pages after the first show one member per group (a stale cache)."""
    if _group_list(path, query) and int(query.get("startIndex", 1)) > 1:
        for group in body.get("Resources", []):
            if group.get("members"):
                group["members"] = group["members"][:1]
    return body


@pytest.mark.parametrize("concurrency", [1, 8])
def test_list_capping_members_on_later_pages(world, capsys, concurrency):
    print(attack(world, capsys, _cap_page_two, concurrency))
