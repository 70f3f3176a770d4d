"""Hostile SCIM servers against GroupMap's bounds: time, memory, error text, JSON types, secrets."""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest

from app.cli import main
from app.core.errors import InputError
from app.scim.http import answers
from app.scim.http.errors import MAX_DETAIL, BadAnswer, ConnectError, ScimError
from app.scim.http.redact import redact
from app.scim.http.transport import Transport, checked_base_url
from tests.scim_fixtures import TOKEN, fast_client, make_users
from tests.test_scim_hostile import export, seeded, sync
from tests.test_scim_hostile_read import read

ODD_TOKEN = 'tok/9"Xq+z&k=v%41~end'


def test_a_server_dripping_bytes_hits_the_total_deadline(fake_scim):
    fake = fake_scim("drip", drip=0.05)  # each read is quick, the whole answer takes ~10 s
    client = fast_client(fake.url, request_deadline=0.4, max_attempts=2)
    with client, pytest.raises(ConnectError, match="0.4 s request deadline"):
        client.features()
    assert len(fake.records) == 2  # two attempts, each cut at the deadline


def test_a_server_dripping_its_headers_hits_the_total_deadline():
    # Headers one byte every 50 ms: each read is well within the read timeout, the answer
    # would take minutes. A raw socket server, since a WSGI app sends its headers at once.
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    accepted = []

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            accepted.append(conn)
            conn.recv(65536)
            header = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
            for byte in header:
                if stop.is_set():
                    break
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    break
                time.sleep(0.05)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/v2"
    client = fast_client(url, request_deadline=0.5, max_attempts=1)
    try:
        with client, pytest.raises(ConnectError, match="0.5 s request deadline"):
            client.features()
    finally:
        stop.set()
        thread.join(5)
        for conn in accepted:
            conn.close()
        listener.close()
    assert len(accepted) == 1


def test_an_oversized_answer_is_refused_while_streaming(fake_scim):
    fake = fake_scim("huge", huge=4 * 1024 * 1024)  # no Content-Length: read as it streams
    fake.add_user("a@x")
    client = fast_client(fake.url, max_response_mb=1)
    with client, pytest.raises(BadAnswer, match=r"GET /Users answered more than 1 MB.*--max-"):
        client.list_users()
    assert len([r for r in fake.records if r[1] == "/Users"]) == 1  # not retried


def test_long_server_errors_are_cut_before_they_are_stored_or_reported(fake_scim, tmp_path):
    fake = fake_scim("long_error")
    seeded(fake, ["a@x", "b@x"])
    _, result = sync(fake.url, export(("a@x", "sales"), ("b@x", "eng")))
    assert result.failed
    assert all(len(f.reason) < MAX_DETAIL + 200 for f in result.failed)
    report = result.report_frame()
    assert report["reason"].str.len().max() < 2 * (MAX_DETAIL + 200)
    assert "more characters not shown" in result.failed[0].reason


@pytest.mark.parametrize(
    ("mode", "field"),
    [
        ("spc_list", "the answer"),
        ("max_results_text", "filter.maxResults"),
        ("resources_object", "Resources"),
        ("id_missing", "Resources[].id"),
        ("groups_string", "Resources[].groups"),
    ],
)
def test_wrong_json_types_are_one_error_naming_server_and_field(fake_scim, mode, field):
    fake = fake_scim(mode)
    a = fake.add_user("a@x")
    fake.add_group("Sales", [a])
    with pytest.raises(BadAnswer) as caught:
        read(fake.url, export(("a@x", "sales")))
    assert fake.url in str(caught.value) and f"`{field}`" in str(caught.value)
    assert "report it to its vendor" in str(caught.value)
    assert not fake.writes()


def test_an_undecodable_body_is_one_clear_error(fake_scim):
    fake = fake_scim("bad_encoding")
    with fast_client(fake.url) as client, pytest.raises(BadAnswer, match="cannot be decoded"):
        client.features()


def test_a_create_answered_with_wrong_types_fails_its_adds_cleanly(fake_scim):
    fake = fake_scim("created_members_string")
    seeded(fake, ["a@x", "b@x"])
    _, result = sync(fake.url, export(("a@x", "sales"), ("b@x", "sales")))
    assert len(fake.groups_named("Sales")) == 1
    (failure,) = [f for f in result.failed if f.group == "Sales"]
    assert failure.operation == "add" and "`members` is a string" in failure.reason


def test_total_results_as_digits_or_text_read_the_same_everywhere():
    assert answers.count("3", "x", "totalResults") == answers.count(3, "x", "totalResults") == 3
    assert answers.count(None, "x", "totalResults", 0) == 0
    with pytest.raises(BadAnswer, match="`totalResults` is a string"):
        answers.count("many", "x", "totalResults")
    with pytest.raises(BadAnswer):
        answers.count(True, "x", "totalResults")


def test_total_results_as_digits_count_in_every_path(fake_scim):
    """The app's connection test, filtered searches and paging all read "3" as 3."""
    from app.scim.config.probe import _total

    fake = fake_scim("total_as_digits")
    for i in range(150):
        fake.add_user(f"u{i:03d}@x")
    with fast_client(fake.url) as client:
        assert _total(client, "/Users") == 150
        assert len(client.list_users()) == 150
        assert [u["userName"] for u in client.find_users("userName", "u007@x")] == ["u007@x"]


def test_every_spelling_of_the_token_is_redacted():
    spelled = [
        ODD_TOKEN,
        json.dumps(ODD_TOKEN)[1:-1],
        json.dumps(ODD_TOKEN)[1:-1].replace("/", "\\/"),
        quote(ODD_TOKEN, safe=""),
        quote(ODD_TOKEN, safe="").lower(),
        quote_plus(ODD_TOKEN),
        ODD_TOKEN.upper(),
    ]
    for text in spelled:
        assert redact(f"before {text} after", ODD_TOKEN) == "before [redacted] after"
    assert redact("nothing secret", ODD_TOKEN, None, "") == "nothing secret"


@pytest.mark.parametrize(
    "mode", ["echo_token", "echo_token_text", "echo_token_reason", "echo_token_success"]
)
def test_a_server_echoing_the_token_never_shows_it(fake_scim, tmp_path, monkeypatch, capsys, mode):
    fake = fake_scim(mode, token=ODD_TOKEN)
    seeded(fake, [f"user{i:03d}@ex.com" for i in range(30)])
    if mode == "echo_token_success":  # existing groups: the members go in by PATCH
        fake.add_group("Sales")
        fake.add_group("Engineering")
    users, mapping = tmp_path / "users.csv", tmp_path / "mapping.csv"
    rows = [f"U{i},user{i:03d}@ex.com,active,{['sales', 'eng'][i % 2]}," for i in range(30)]
    users.write_text("Name,Email,Status,Identity Provider Group,Group\n" + "\n".join(rows) + "\n")
    mapping.write_text("Value in Identity Provider,Group\nsales,Sales\neng,Engineering\n")
    monkeypatch.setenv("GROUPMAP_TOKEN", ODD_TOKEN)
    monkeypatch.setattr(Transport, "wait_before_retry", lambda self, attempt, after=None: None)
    report = tmp_path / "report.csv"
    args = ["sync", "--users", str(users), "--mapping", str(mapping), "--url", fake.url]
    code = main([*args, "--report", str(report)])
    out = capsys.readouterr()
    assert code == 1 and "[redacted]" in out.err
    journal = Path(os.environ["GROUPMAP_JOURNAL_DIR"])
    texts = [out.out, out.err, report.read_text(encoding="utf-8-sig")]
    texts += [p.read_text(encoding="utf-8") for p in journal.rglob("*") if p.is_file()]
    assert len(texts) > 3  # the run was journaled, and its journal is checked too
    secret_bits = ['9"Xq', '9\\"Xq', "9%22Xq", "9%22xq", "Xq+z&k", "Xq%2Bz"]
    for text in texts:
        for bit in secret_bits:
            assert bit.lower() not in text.lower(), bit


def test_one_redaction_everywhere():
    from app.ui.server import connection_dialog, sync_controller

    assert connection_dialog.redact is sync_controller.redact is redact


@pytest.mark.parametrize(
    "url", ["https://admin:s3cret-pw@scim.example.com/v2", "https://s3cret-pw@scim.example.com/v2"]
)
def test_credentials_in_the_url_are_refused_unseen(url):
    with pytest.raises(InputError) as caught:
        checked_base_url(url, insecure_http=False)
    assert "s3cret-pw" not in str(caught.value) and "scim.example.com" in str(caught.value)
    assert "user:password@host" in str(caught.value)


def test_credentials_in_url_never_reach_the_cli_output(tmp_path, capsys, monkeypatch):
    users, mapping = tmp_path / "users.csv", tmp_path / "mapping.csv"
    users.write_text("Name,Email,Status,Identity Provider Group,Group\nA,a@x.com,active,s,\n")
    mapping.write_text("Value in Identity Provider,Group\ns,Sales\n")
    url = "https://admin:s3cret-pw@scim.example.com/v2"
    code = main(["sync", "--users", str(users), "--mapping", str(mapping), "--url", url])
    out = capsys.readouterr()
    assert code == 2 and "user:password@host" in out.err
    assert "s3cret-pw" not in out.out + out.err


@pytest.mark.parametrize(
    ("mode", "code", "said"),
    [("", 2, "none of the export's 1 users"), ("resources_object", 3, "`Resources` is an")],
)
def test_hostile_reads_exit_with_one_line(
    fake_scim, tmp_path, capsys, monkeypatch, mode, code, said
):
    fake = fake_scim(mode)
    fake.add_user("jdoe", emails=["jane@x.com"])
    users, mapping = tmp_path / "users.csv", tmp_path / "mapping.csv"
    users.write_text("Name,Email,Status,Identity Provider Group,Group\nJ,jane@x.com,active,s,\n")
    mapping.write_text("Value in Identity Provider,Group\ns,Sales\n")
    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)
    args = ["sync", "--users", str(users), "--mapping", str(mapping), "--url", fake.url]
    assert main(args) == code
    err = capsys.readouterr().err
    assert said in err and "nothing was written" in err and len(err.splitlines()) == 1
    assert not fake.writes()


def test_the_learned_removal_shape_is_shared_safely_between_threads(scim_server, fault_proxy):
    """Eight threads meet a value-array-only server at once: one checks, all converge."""
    users = make_users(16, ["eng"], groups=lambda i: f"G{i % 8}; Keep")
    server = scim_server(users)
    proxy = fault_proxy(server.url, quirks=frozenset({"reject_filter_remove"}))
    groups = server.dump()["groups"]
    with fast_client(proxy.url, token=TOKEN) as client:
        ids = {name: client.find_group(name)["id"] for name in groups}
        user_ids = {u["userName"]: u["id"] for u in client.list_users(["userName"])}
        errors: list[ScimError] = []

        def remove_one(i: int) -> None:
            try:
                client.modify_members(ids[f"G{i}"], [], [user_ids[f"user{i:05d}@ex.com"]])
            except ScimError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=remove_one, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert not errors and client.remove_style == "value"
    checks = [r for r in proxy.records if r.method == "GET" and r.path.startswith("/Groups/")]
    assert len(checks) == 2  # one thread read the group before and after; the others waited
    after = server.dump()["groups"]
    for i in range(8):
        assert after[f"G{i}"] == {f"user{i + 8:05d}@ex.com"}
    assert after["Keep"] == set(users.frame["email"])


def test_redaction_module_is_the_only_one():
    app = Path(__file__).resolve().parent.parent / "app"
    hits = [p for p in app.rglob("*.py") if "\ndef redact(" in p.read_text(encoding="utf-8")]
    assert [p.name for p in hits] == ["redact.py"]  # methods named redact call it
