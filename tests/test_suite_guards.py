"""The suite's own guards: a modal dialog no test answers fails its test instead of hanging."""

from __future__ import annotations

from PySide6.QtWidgets import QMessageBox

import tests.conftest as conftest


def test_an_unanswered_modal_dialog_fails_with_its_stack(qtbot, monkeypatch):
    monkeypatch.setattr(conftest, "MODAL_PATIENCE", 0.5)
    with qtbot.capture_exceptions() as captured:
        QMessageBox.warning(None, "Left open", "nobody answers this")
    errors = [str(exc) for _, exc, _ in captured]
    assert len(errors) == 1
    assert "'Left open'" in errors[0] and "nobody answers this" in errors[0]
    assert "test_an_unanswered_modal_dialog_fails_with_its_stack" in errors[0]
