"""`groupmap sync` and `groupmap serve`: exit statuses, dry run, JSON, report, and no token leak."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pandas as pd
import pytest

from app.cli import main
from app.io import read_users
from app.scim.http.transport import Transport
from tests.scim_fixtures import TOKEN

ROOT = Path(__file__).resolve().parent.parent
KEYS = {
    "created_groups",
    "added",
    "removed",
    "not_kept",
    "unchanged",
    "not_found",
    "failed",
    "requests",
    "drift",
    "left_alone",
    "requests_by_kind",
    "groups_read",
}


@pytest.fixture
def inputs(tmp_path: Path) -> tuple[Path, Path]:
    values = ["sales", "eng", "ops"]
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += [f"User {i},user{i:03d}@ex.com,active,{values[i % 3]}," for i in range(30)]
    lines.append('=HYPERLINK("http://evil"),evil@ex.com,active,sales,')
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\neng,Engineering\nops,Ops\n",
        encoding="utf-8",
    )
    return tmp_path / "users.csv", tmp_path / "mapping.csv"


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """The CLI's client backs off for real; these tests are about outcomes, not waiting."""
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)


def run(inputs, url: str, *extra: str) -> int:
    users, mapping = inputs
    return main(["sync", "--users", str(users), "--mapping", str(mapping), "--url", url, *extra])


def seeded(scim_server, inputs, **kwargs):
    return scim_server(read_users([inputs[0]]), **kwargs)


def test_dry_run_prints_plan_and_writes_nothing(
    scim_server, fault_proxy, inputs, monkeypatch, capsys
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    proxy = fault_proxy(seeded(scim_server, inputs).url)
    assert run(inputs, proxy.url, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "Groups to create (3):" in out and "Sales: add 11, remove 0" in out
    assert "  + user000@ex.com" in out
    assert not proxy.writes()


def test_json_then_second_run_sends_no_change(
    scim_server, fault_proxy, inputs, monkeypatch, capsys
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    proxy = fault_proxy(seeded(scim_server, inputs).url)
    assert run(inputs, proxy.url, "--json") == 0
    first = json.loads(capsys.readouterr().out)
    assert set(first) == KEYS | {"throttled", "cancelled", "changes_sent", "budget_waited"}
    assert first["changes_sent"] == 31 and first["budget_waited"] == 0
    assert sorted(first["created_groups"]) == ["Engineering", "Ops", "Sales"]
    assert first["added"] == 31 and first["failed"] == 0
    assert first["requests"] == proxy.count()
    proxy.reset_records()
    assert run(inputs, proxy.url, "--json") == 0
    second = json.loads(capsys.readouterr().out)
    assert not proxy.writes()
    assert second["added"] == second["removed"] == 0 and second["unchanged"] == 31


def test_failures_exit_1_with_reasons_in_report(
    scim_server, fault_proxy, inputs, monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)

    def refuse(record):
        if record.method == "POST" and record.body.get("displayName") == "Ops":
            return 400, "group name Ops is reserved"
        return None

    proxy = fault_proxy(seeded(scim_server, inputs).url, refuse=refuse)
    report = tmp_path / "report.csv"
    assert run(inputs, proxy.url, "--report", str(report)) == 1
    err = capsys.readouterr().err
    assert "failed: create 'Ops' for 10 user(s): HTTP 400: group name Ops is reserved" in err
    frame = pd.read_csv(report, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert len(frame) == 31
    failed = frame[frame["outcome"] == "failed"]
    assert len(failed) == 10 and failed["reason"].str.contains("reserved").all()
    assert frame.loc[frame["email"] == "evil@ex.com", "name"].item().startswith("'=")


def test_mass_removal_guard_exit_2(scim_server, fault_proxy, inputs, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    users = read_users([inputs[0]])
    server = scim_server(users, extra_groups={"Sales": list(users.frame["email"])})
    proxy = fault_proxy(server.url)
    assert run(inputs, proxy.url, "--apply-existing") == 2
    assert "--allow-mass-removal" in capsys.readouterr().err
    assert not proxy.writes()
    assert run(inputs, proxy.url, "--apply-existing", "--allow-mass-removal", "--json") == 0
    assert json.loads(capsys.readouterr().out)["removed"] == 20


def test_bad_input_exit_2(inputs, capsys, tmp_path):
    assert run(inputs, "https://scim.example.com/v2", "--target", "attribute") == 2
    assert "--attribute" in capsys.readouterr().err
    assert run(inputs, "http://scim.example.com/v2") == 2
    assert "https" in capsys.readouterr().err
    users, _ = inputs
    code = main(
        [
            "sync",
            "--users",
            str(users),
            "--mapping",
            str(tmp_path / "missing.csv"),
            "--url",
            "https://scim.example.com/v2",
        ]
    )
    assert code == 2


def test_connect_and_auth_failures_exit_3(scim_server, inputs, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", "not-the-token")
    server = seeded(scim_server, inputs)
    assert run(inputs, server.url) == 3
    err = capsys.readouterr().err
    assert "HTTP 401" in err and "nothing was written" in err
    assert server.dump()["group_counts"] == {}
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    assert run(inputs, "http://127.0.0.1:9/v2") == 3


def test_token_never_in_any_output(
    scim_server, fault_proxy, inputs, monkeypatch, capsys, caplog, tmp_path
):
    """stdout, stderr, reports and logs, including a server that echoes the token back."""
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    caplog.set_level(logging.DEBUG)

    def refuse(record):
        if record.method == "PATCH" or (
            record.method == "POST" and record.body.get("displayName") == "Sales"
        ):
            return 400, f"bad request with Authorization: Bearer {TOKEN}"
        return None

    proxy = fault_proxy(
        seeded(scim_server, inputs).url,
        refuse=refuse,
        fault_rate=0.2,
        seed=5,
        faults=("500", "reset"),
    )
    outputs = []
    for extra in (
        ["--dry-run", "--report", str(tmp_path / "plan.xlsx")],
        ["--json", "--report", str(tmp_path / "r.xlsx")],
        ["--report", str(tmp_path / "r.csv")],
    ):
        run(inputs, proxy.url, *extra)
        captured = capsys.readouterr()
        outputs += [captured.out, captured.err]
    monkeypatch.setenv("GROUPMAP_TOKEN", "wrong" + TOKEN)
    run(inputs, proxy.url)
    captured = capsys.readouterr()
    outputs += [captured.out, captured.err, caplog.text]
    outputs += [p.read_bytes().decode("latin-1") for p in tmp_path.rglob("*") if p.is_file()]
    assert any("[redacted]" in text for text in outputs)
    for text in outputs:
        assert TOKEN not in text


def test_serve_runs_a_seeded_server(inputs, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "app",
            "serve",
            "--port",
            "0",
            "--users",
            str(inputs[0]),
            "--token",
            TOKEN,
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        assert TOKEN not in line
        url = line.split()[3]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v2")
        headers = {"Authorization": f"Bearer {TOKEN}"}
        users = httpx.get(f"{url}/Users", params={"count": 0}, headers=headers).json()
        assert users["totalResults"] == 31
        assert httpx.get(f"{url}/Users", headers={"Authorization": "Bearer x"}).status_code == 401
    finally:
        process.kill()
        process.communicate(timeout=10)


def test_token_that_cannot_write_exits_3(scim_server, fault_proxy, inputs, monkeypatch, capsys):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)

    def read_only(record):
        return (403, "token lacks the scim:write scope") if record.method != "GET" else None

    proxy = fault_proxy(seeded(scim_server, inputs).url, refuse=read_only)
    assert run(inputs, proxy.url, "--concurrency", "1") == 3
    err = capsys.readouterr().err
    assert "nothing was written" in err and "scim:write" in err
    assert len(proxy.writes()) == 1  # the first refusal stops the rest


def test_token_with_line_break_works_or_is_refused_unseen(scim_server, inputs, monkeypatch, capsys):
    """A secret file's trailing newline is trimmed; a token no header can carry exits 2 unseen."""
    server = seeded(scim_server, inputs)
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN + "\r\n")
    assert run(inputs, server.url, "--json") == 0
    assert json.loads(capsys.readouterr().out)["added"] == 31
    broken = TOKEN[:10] + "\n" + TOKEN[10:]
    monkeypatch.setenv("GROUPMAP_TOKEN", broken)
    assert run(inputs, server.url) == 2
    err = capsys.readouterr().err
    assert "line breaks" in err and TOKEN[:10] not in err and TOKEN[10:] not in err
    monkeypatch.setenv("GROUPMAP_TOKEN", f"Bearer {TOKEN}")  # pasted with its scheme
    assert run(inputs, server.url) == 2
    err = capsys.readouterr().err
    assert "give the token alone" in err and TOKEN not in err


def test_a_web_page_instead_of_scim_exits_3_writing_nothing(
    scim_server, fault_proxy, inputs, monkeypatch, capsys
):
    """A URL that reaches a website (200 with HTML) is not a server without users or groups."""
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    proxy = fault_proxy(seeded(scim_server, inputs).url, quirks=frozenset({"web_page"}))
    assert run(inputs, proxy.url) == 3
    err = capsys.readouterr().err
    assert "text/html" in err and "SCIM base URL" in err and "nothing was written" in err
    assert not proxy.writes()


def test_a_report_that_cannot_be_written_is_refused_before_any_write(
    scim_server, fault_proxy, inputs, monkeypatch, capsys, tmp_path
):
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    proxy = fault_proxy(seeded(scim_server, inputs).url)
    for report in (tmp_path / "report.json", tmp_path / "missing" / "report.csv"):
        assert run(inputs, proxy.url, "--report", str(report)) == 2
        assert not proxy.writes()  # refused before the sync, not after it
        assert "--report" in capsys.readouterr().err


def test_dry_run_and_sync_count_attribute_conflicts_the_same_way(
    scim_server, tmp_path, capsys, monkeypatch
):
    # user001 also holds an unmanaged group: one attribute cannot hold both, so the user is
    # left alone; neither JSON counts them as unchanged.
    lines = ["Name,Email,Status,Identity Provider Group,Group"]
    lines += ["A,user000@ex.com,active,sales,", "B,user001@ex.com,active,sales,Hand"]
    (tmp_path / "users.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "mapping.csv").write_text(
        "Value in Identity Provider,Group\nsales,Sales\n", encoding="utf-8"
    )
    inputs = (tmp_path / "users.csv", tmp_path / "mapping.csv")
    server = seeded(scim_server, inputs)
    path = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
    extra = ("--target", "attribute", "--attribute", path, "--apply-existing", "--json")
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    assert run(inputs, server.url, *extra, "--dry-run") == 0
    dry = json.loads(capsys.readouterr().out)
    assert run(inputs, server.url, *extra) == 0
    real = json.loads(capsys.readouterr().out)
    assert dry["unchanged"] == real["unchanged"] == 0
    assert dry["added"] == real["added"] == 1
