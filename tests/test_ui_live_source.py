"""File ▸ Open From ▸ SCIM server (the real scim2-server, users carrying the enterprise
extension) and Okta (the fake from Okta's documentation): the attributes the source holds
with their distinct counts and samples, then every user read in the background into the
preview; a refused token changes nothing."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QGuiApplication

from app.ui.files.live_source_dialog import LiveSourceDialog
from tests.fake_entra_login import CLIENT_ID, TENANT
from tests.fake_idp import (
    OKTA_TOKEN,
    FakeGraph,
    FakeOkta,
    graph_user,
    okta_user,
    started,
)
from tests.scim_fixtures import TOKEN
from tests.test_sources_scim import DEPARTMENT, add_user


def open_dialog(window, kind: str) -> LiveSourceDialog:
    window.actions_by_name[f"open_{kind}"].trigger()
    dialog = window.files.live.dialog
    assert dialog is not None and dialog.isVisible()
    return dialog


def test_open_from_scim_lists_attributes_then_reads_every_user(qtbot, window, scim_server):
    url = scim_server().url
    for i in range(6):
        add_user(url, f"u{i}@ex.com", ["Sales", "Sales", "Engineering"][i % 3], title="Rep")
    dialog = open_dialog(window, "scim")
    dialog.url.setText(url)
    dialog.token.setText(TOKEN)
    assert not dialog.read_button.isEnabled()  # no attribute yet
    dialog.find_attributes()
    qtbot.waitUntil(lambda: dialog.attributes.topLevelItemCount() > 0, timeout=10_000)
    rows = {dialog.attributes.topLevelItem(i).text(0): dialog.attributes.topLevelItem(i)
            for i in range(dialog.attributes.topLevelItemCount())}
    department = rows[DEPARTMENT]
    assert (department.text(1), department.text(2), department.text(3)) == (
        "2", "6", "Sales, Engineering")
    assert rows["title"].text(1) == "1"
    dialog.attributes.setCurrentItem(department)
    assert dialog.attribute.text() == DEPARTMENT and dialog.read_button.isEnabled()
    dialog.accept()
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=10_000)
    users = window.document.users
    assert len(users) == 6 and sorted(set(users.frame["source"])) == ["Engineering", "Sales"]
    assert window.document.export_paths == []
    assert TOKEN not in repr(dialog.request())


def test_open_from_okta_with_a_refused_token_changes_nothing(qtbot, window, clock, servers):
    okta = started(servers, FakeOkta([okta_user(i, department="Sales") for i in range(3)],
                                     OKTA_TOKEN, clock))
    dialog = open_dialog(window, "okta")
    dialog.url.setText(okta.url)
    dialog.token.setText(OKTA_TOKEN)
    dialog.find_attributes()
    qtbot.waitUntil(lambda: dialog.attributes.topLevelItemCount() > 0, timeout=10_000)
    assert dialog.attributes.topLevelItem(0).text(0) == "profile.department"
    dialog.token.setText("00wrong-token-1234")
    dialog.attribute.setText("profile.department")
    dialog.accept()
    qtbot.waitUntil(lambda: window.files.error_box is not None, timeout=10_000)
    text = window.files.error_box.text() + window.files.error_box.informativeText()
    assert "E0000011" in text and "00wrong-token-1234" not in text
    assert window.document.users is None


@pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning")  # MSAL, on the test clock
def test_open_from_entra_signs_in_with_a_device_code_then_reads(qtbot, window, clock, servers,
                                                                 login, monkeypatch):
    monkeypatch.delenv("GROUPMAP_ENTRA_TOKEN", raising=False)
    signing_in = login(answers=("authorization_pending",) * 1000)  # until the code is seen
    graph = started(servers, FakeGraph(
        [graph_user(i, department=["Sales", "Ops"][i % 2]) for i in range(4)],
        "minted-graph-token", clock))
    dialog = open_dialog(window, "entra")
    dialog.login_url = signing_in.url
    dialog.url.setText(graph.url)
    dialog.tenant.setText(TENANT)
    dialog.client_id.setText(CLIENT_ID)
    dialog.sign_in()
    qtbot.waitUntil(lambda: dialog.code.text() == "FGH7QK9XW", timeout=10_000)
    dialog.copy_button.click()
    assert QGuiApplication.clipboard().text() == "FGH7QK9XW"
    assert "https://microsoft.com/devicelogin" in dialog.sign_in_text.text()
    signing_in.answers.clear()  # the admin signs in: the next poll gets the token
    qtbot.waitUntil(lambda: dialog.token.text() == "minted-graph-token", timeout=10_000)
    dialog.find_attributes()
    qtbot.waitUntil(lambda: dialog.attributes.topLevelItemCount() > 0, timeout=10_000)
    assert dialog.attributes.topLevelItem(0).text(0) == "department"
    dialog.attributes.setCurrentItem(dialog.attributes.topLevelItem(0))
    dialog.accept()
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=10_000)
    assert sorted(window.document.users.frame["source"]) == ["Ops", "Ops", "Sales", "Sales"]


@pytest.mark.filterwarnings("ignore:Attempted too soon:UserWarning")
def test_closing_the_dialog_while_the_code_waits_ends_the_sign_in(qtbot, window, login,
                                                                  monkeypatch):
    """On the real clock: the code is shown, the admin closes the dialog between two polls."""
    monkeypatch.delenv("GROUPMAP_ENTRA_TOKEN", raising=False)
    signing_in = login(answers=("authorization_pending",) * 1000)
    dialog = open_dialog(window, "entra")
    dialog.login_url = signing_in.url
    dialog.tenant.setText(TENANT)
    dialog.client_id.setText(CLIENT_ID)
    dialog.sign_in()
    task = dialog.signing_in
    outcomes: list[str] = []
    task.outcome.connect(lambda _task, kind: outcomes.append(kind))
    qtbot.waitUntil(lambda: dialog.code.text() == "FGH7QK9XW", timeout=10_000)
    dialog.reject()
    qtbot.waitUntil(lambda: not task.running, timeout=10_000)
    assert outcomes == ["cancelled"] and dialog.token.text() == ""


def test_a_draft_remembers_its_source_and_reading_again_follows_the_server(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    import json

    from tests.test_sources_scim import set_department

    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)  # the token as the command line finds it
    url = scim_server().url
    ids = [add_user(url, f"u{i}@ex.com", "Sales") for i in range(3)]
    dialog = open_dialog(window, "scim")
    dialog.url.setText(url)
    dialog.attribute.setText(DEPARTMENT)
    dialog.accept()
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=10_000)
    draft = tmp_path / "draft.json"
    assert window.files.save_to(draft)
    saved = json.loads(draft.read_text("utf-8"))
    assert saved["source"] == {"kind": "scim", "url": url, "attribute": DEPARTMENT,
                               "match_attribute": "userName"}
    assert TOKEN not in draft.read_text("utf-8")

    set_department(url, ids[0], "Engineering")
    window.actions_by_name["read_again"].trigger()
    qtbot.waitUntil(lambda: "Engineering" in set(window.document.users.frame["source"]),
                    timeout=10_000)

    window.document.set_users(None)
    assert window.files.open_draft(draft)
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=10_000)
    assert sorted(window.document.users.frame["source"]) == ["Engineering", "Sales", "Sales"]


def test_autosave_keeps_the_live_source_and_a_restore_reads_it_again(
    qtbot, window, scim_server, tmp_path, monkeypatch
):
    """A window whose users came from a live source crashes: its autosave holds the source
    (never the token), and the window restoring it reads the source as it is now."""
    import json

    from PySide6.QtWidgets import QMessageBox

    from app.core.mapping import MappingRow
    from app.ui.files import file_controller
    from app.ui.shell.main_window import MainWindow
    from tests.test_sources_scim import set_department

    monkeypatch.setenv("GROUPMAP_TOKEN", TOKEN)  # what a restore reads again with
    url = scim_server().url
    ids = [add_user(url, f"u{i}@ex.com", "Sales") for i in range(3)]
    dialog = open_dialog(window, "scim")
    dialog.url.setText(url)
    dialog.token.setText(TOKEN)
    dialog.attribute.setText(DEPARTMENT)
    dialog.accept()
    qtbot.waitUntil(lambda: window.document.users is not None, timeout=10_000)
    window.editor.insert(0, [MappingRow("Sales", "Sellers")], "add")  # saved at once
    autosaved = window.files.autosaver.draft_file
    text = autosaved.read_text("utf-8")
    assert json.loads(text)["source"] == {"kind": "scim", "url": url, "attribute": DEPARTMENT,
                                          "match_attribute": "userName"}
    assert TOKEN not in text
    window.files.autosaver.session.lock.unlock()  # the window's process is gone: a crash

    set_department(url, ids[0], "Engineering")
    asked: list[str] = []
    monkeypatch.setattr(file_controller.QMessageBox, "question",
                        lambda *a, **k: asked.append(a[2]) or QMessageBox.StandardButton.Yes)
    second = MainWindow(window.settings, tmp_path / "data")
    qtbot.addWidget(second)
    try:
        assert second.files.offer_restore()
        assert f"with the users of {url} (scim:{DEPARTMENT}), read again" in asked[0]
        qtbot.waitUntil(lambda: second.document.users is not None, timeout=10_000)
        assert sorted(second.document.users.frame["source"]) == ["Engineering", "Sales", "Sales"]
        assert second.document.mapping.rows == (MappingRow("Sales", "Sellers"),)
        assert second.files.live.source_dict()["url"] == url  # Read Again, Save keep it
        own = json.loads(second.files.autosaver.draft_file.read_text("utf-8"))
        assert own["source"]["attribute"] == DEPARTMENT
    finally:
        second.document.dirty = False
        second.close()
