"""A live source against a file: the users and their value read from the bundled SCIM server
(`--users scim:title`) and previewed, beside the same users read from a CSV export; and
GroupMap's own share of a live read (the answers' users into the user list and the
preview), apart from the server's time to answer."""

from __future__ import annotations

import itertools
import statistics
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from app.core.engine import evaluate
from app.core.mapping import Mapping, MappingRow, Options
from app.core.users import UserList
from app.core.warnings import find_warnings
from app.io import read_users
from app.scim.http.client import ScimClient
from app.scim.server import USER_URN, LocalScimServer
from app.sources.scim import read_scim, source_users
from app.sources.users import user_list

TOKEN = "bench-token"
GROUPS = 50


def _server_with(n_users: int) -> LocalScimServer:
    """The bundled server holding n users whose `title` is the identity-provider value."""
    server = LocalScimServer(token=TOKEN)
    user_type = server.service.get_resource_type("User")
    model = server.service.get_model(user_type)
    for i in range(n_users):
        record = {"schemas": [USER_URN], "userName": f"user{i:06d}@bench.example",
                  "displayName": f"User {i}", "active": True, "title": f"value-{i % GROUPS}"}
        server.storage.create(user_type, model.model_validate(record))
    return server


def _csv(folder: Path, n_users: int) -> Path:
    path = folder / "users.csv"
    lines = ["Name,Email,Status,Identity Provider Group"]
    lines += [f"User {i},user{i:06d}@bench.example,Active,value-{i % GROUPS}"
              for i in range(n_users)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read(server: LocalScimServer) -> tuple[UserList, list[float]]:
    """The users read live from the server, and the time each page after the first took
    (the first also holds the client's discovery request)."""
    stamps = [time.perf_counter()]
    with ScimClient(server.url, TOKEN) as client:
        users, _ = read_scim(client, "title",
                             progress=lambda _got, _total: stamps.append(time.perf_counter()))
    return users, [later - earlier for earlier, later in itertools.pairwise(stamps[1:])]


def _page_time(n_users: int) -> float:
    """The median time of one page of users read live from a server holding n users."""
    server = _server_with(n_users)
    server.start()
    try:
        return statistics.median(_read(server)[1])
    finally:
        server.stop()


def run(quick: bool = False) -> list[tuple[str, str, str]]:
    n_users = 10_000 if quick else 100_000
    n_small = 5_000 if quick else 20_000
    mapping = Mapping(tuple(MappingRow(f"value-{g}", f"Group {g}") for g in range(GROUPS)),
                      Options())
    small_page = _page_time(n_small)
    server = _server_with(n_users)
    server.start()
    try:
        started = time.perf_counter()
        users, pages = _read(server)
        read_live = time.perf_counter() - started
        find_warnings(evaluate(users, mapping))
        live = time.perf_counter() - started
    finally:
        server.stop()
    with TemporaryDirectory() as folder:
        path = _csv(Path(folder), n_users)
        started = time.perf_counter()
        from_file = read_users([path])
        find_warnings(evaluate(from_file, mapping))
        file_time = time.perf_counter() - started
    assert len(users) == len(from_file) == n_users
    own = _own_share(n_users, mapping)
    return [
        (f"preview from scim:title, {n_users:,} users (of which reading the server "
         f"{read_live:.0f} s)", f"{live:.1f} s", "reference: the bundled server's answers"),
        (f"one page of 1,000 users from the bundled server (median), {n_small:,} / "
         f"{n_users:,} users", f"{small_page:.2f} s / {statistics.median(pages):.2f} s",
         "reference"),
        (f"preview from a CSV export, {n_users:,} users", f"{file_time:.1f} s", "reference"),
        (f"GroupMap's share of the live preview, {n_users:,} users (answers to user list "
         "to preview)", f"{own:.1f} s", "<= 2x the CSV preview + 1 s"),
    ]


def _own_share(n_users: int, mapping: Mapping) -> float:
    """The live read less the server: its decoded answers into the user list, previewed."""
    resources = [{"id": str(i), "userName": f"user{i:06d}@bench.example",
                  "displayName": f"User {i}", "active": True, "title": f"value-{i % GROUPS}"}
                 for i in range(n_users)]
    started = time.perf_counter()
    users, _ = user_list(source_users(resources, "title", "userName", {}, "bench"), "scim",
                         "http://bench", "title")
    find_warnings(evaluate(users, mapping))
    return time.perf_counter() - started
