"""The background-task helper: results, progress, partial results, errors and cancel."""

import threading

import pytest
from PySide6.QtCore import Qt

from app.ui.base.worker import TaskRunner, start_task


def wait_finished(qtbot, task):
    with qtbot.waitSignal(task.finished, timeout=10_000):
        pass


def test_result_and_progress_arrive_on_the_ui_thread(qtbot):
    ui_thread = threading.get_ident()
    seen = []

    def work(state, n):
        for i in range(n):
            state.set_progress((i + 1) / n)
        state.set_partial_result("half")
        return threading.get_ident()

    task = start_task(work, 4)
    task.progress.connect(lambda v: seen.append(("progress", v, threading.get_ident())))
    task.partial.connect(lambda v: seen.append(("partial", v, threading.get_ident())))
    results = []
    task.done.connect(results.append)
    wait_finished(qtbot, task)
    assert results and results[0] != ui_thread
    assert ("partial", "half", ui_thread) in seen
    assert seen[0][0] == "progress" and all(t == ui_thread for _, _, t in seen)
    assert any(kind == "progress" and value == 1.0 for kind, value, _ in seen)
    assert not task.running


def test_a_final_progress_from_many_threads_is_never_throttled_out(qtbot):
    """A sync's workers report counts (tuples, never 1.0) from four threads at once: the
    throttle drops most of them, but never the one marked final."""
    def work(state):
        def report(worker):
            for i in range(200):
                state.set_progress((worker, i))
        threads = [threading.Thread(target=report, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        state.set_progress(("all", 800), final=True)

    task = start_task(work)
    seen = []
    task.progress.connect(seen.append)
    wait_finished(qtbot, task)
    assert seen[-1] == ("all", 800)
    assert len(seen) < 800  # the rest was throttled


def test_error_is_handed_over(qtbot):
    def work(state):
        raise ValueError("bad row 3")

    task = start_task(work)
    errors, done = [], []
    task.error.connect(errors.append)
    task.done.connect(done.append)
    wait_finished(qtbot, task)
    assert [str(e) for e in errors] == ["bad row 3"] and not done


@pytest.mark.parametrize("raises", [False, True])
def test_cancel_stops_the_function(qtbot, raises):
    started = threading.Event()

    def work(state):
        started.set()
        while not state.is_cancelled():
            threading.Event().wait(0.005)
        if raises:
            raise RuntimeError("stopped")
        return "ignored"

    task = start_task(work)
    outcome = []
    task.cancelled.connect(lambda: outcome.append("cancelled"))
    task.done.connect(lambda r: outcome.append("done"))
    task.error.connect(lambda e: outcome.append("error"))
    qtbot.waitUntil(started.is_set, timeout=5000)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        task.cancel()
    assert outcome == ["cancelled"]


def test_a_job_queued_while_a_task_runs_waits_for_it_then_runs_in_order(qtbot):
    runner = TaskRunner()
    release = threading.Event()
    events = []

    def first(state):
        release.wait(10)
        return "first"

    task = runner.start(first)
    task.done.connect(lambda result: events.append(result))
    assert runner.busy

    def second() -> None:
        events.append("second starts")
        runner.start(lambda state: "second").done.connect(events.append)

    runner.then(second)
    runner.then(lambda: events.append("third"))
    assert events == []  # nothing ran while the first task runs
    release.set()
    qtbot.waitUntil(lambda: "second" in events, timeout=10_000)
    qtbot.waitUntil(lambda: "third" in events, timeout=10_000)
    assert events == ["first", "second starts", "second", "third"]
    assert not runner.busy


def test_a_queued_job_with_the_same_key_supersedes_the_waiting_one(qtbot):
    runner = TaskRunner()
    release = threading.Event()
    ran = []
    task = runner.start(lambda state: release.wait(10))
    runner.then(lambda: ran.append("first refresh"), key="refresh")
    runner.then(lambda: ran.append("other"))
    runner.then(lambda: ran.append("second refresh"), key="refresh")
    release.set()
    wait_finished(qtbot, task)
    qtbot.waitUntil(lambda: len(ran) == 2, timeout=10_000)
    assert ran == ["other", "second refresh"]


def test_a_job_asked_for_while_idle_runs_at_once():
    runner = TaskRunner()
    ran = []
    runner.then(lambda: ran.append("now"))
    assert ran == ["now"]


def test_a_task_that_keeps_its_result_delivers_it_after_a_cancel(qtbot):
    started = threading.Event()

    def work(state):
        started.set()
        while not state.is_cancelled():
            threading.Event().wait(0.005)
        return "3 of 9 done, cancelled"

    task = start_task(work, keep_result=True)
    outcome = []
    task.cancelled.connect(lambda: outcome.append("cancelled"))
    task.done.connect(outcome.append)
    qtbot.waitUntil(started.is_set, timeout=5000)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        task.cancel()
    assert outcome == ["3 of 9 done, cancelled"]


def test_a_task_with_the_key_of_a_running_one_supersedes_it(qtbot):
    runner = TaskRunner()
    started = threading.Event()
    asked_to_stop = []

    def slow(state):
        started.set()
        while not state.is_cancelled():
            threading.Event().wait(0.005)
        asked_to_stop.append(True)
        return "first export"

    first = runner.start(slow, label="Reading first.csv…", key="read-export")
    seen = []
    first.done.connect(seen.append)
    first.error.connect(seen.append)
    first.cancelled.connect(lambda: seen.append("first cancelled"))
    first.finished.connect(lambda: seen.append("first finished"))
    qtbot.waitUntil(started.is_set, timeout=5000)
    second = runner.start(lambda state: "second export", label="Reading second.csv…",
                          key="read-export")
    assert runner.current is second and first.superseded
    with qtbot.waitSignal(second.done, timeout=10_000) as blocker:
        pass
    assert blocker.args == ["second export"]
    qtbot.waitUntil(lambda: not runner.busy, timeout=10_000)  # both functions returned
    assert not first.running
    assert asked_to_stop == [True]  # the first was asked to cancel
    assert seen == []  # and nothing of it reached its slots, not even `finished`
    assert runner.current is None


def test_a_queued_job_waits_for_a_superseded_task_to_return(qtbot):
    runner = TaskRunner()
    release = threading.Event()
    order = []

    def stubborn(state):  # ignores the cancel until released
        release.wait(10)
        order.append("first returned")

    runner.start(stubborn, key="read-server")
    runner.start(lambda state: order.append("second returned"), key="read-server")
    runner.then(lambda: order.append("queued job"))
    qtbot.waitUntil(lambda: "second returned" in order, timeout=10_000)
    assert runner.busy and "queued job" not in order
    release.set()
    qtbot.waitUntil(lambda: "queued job" in order, timeout=10_000)
    assert order == ["second returned", "first returned", "queued job"]


def test_tasks_with_other_keys_run_side_by_side(qtbot):
    runner = TaskRunner()
    results = []
    one = runner.start(lambda state: "export read", key="read-export")
    two = runner.start(lambda state: "server read", key="read-server")
    one.done.connect(results.append)
    two.done.connect(results.append)
    qtbot.waitUntil(lambda: len(results) == 2, timeout=10_000)
    assert sorted(results) == ["export read", "server read"]
    assert not one.superseded and not two.superseded


def test_the_status_bar_shows_the_current_task_and_its_cancel_stops_it(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from app.ui.shell.status_bar import WindowStatus

    window = QMainWindow()
    qtbot.addWidget(window)
    runner = TaskRunner(window)
    status = WindowStatus(window, runner)
    window.show()
    started = threading.Event()

    def work(state):
        state.set_progress(0.5)
        started.set()
        while not state.is_cancelled():
            threading.Event().wait(0.005)
        return "ignored"

    task = runner.start(work, label="Reading users.csv…")
    outcome = []
    task.cancelled.connect(lambda: outcome.append("cancelled"))
    task.done.connect(outcome.append)
    assert window.statusBar().currentMessage() == "Reading users.csv…"
    assert status.progress.isVisible() and status.cancel_button.isVisible()
    qtbot.waitUntil(started.is_set, timeout=5000)
    qtbot.waitUntil(lambda: status.progress.value() == 500, timeout=5000)
    with qtbot.waitSignal(task.finished, timeout=10_000):
        qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    assert outcome == ["cancelled"]
    assert not status.progress.isVisible() and not status.cancel_button.isVisible()
    assert window.statusBar().currentMessage() == "Cancelled."
    assert runner.current is None


def test_a_task_without_a_label_leaves_the_status_bar_alone(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from app.ui.shell.status_bar import WindowStatus

    window = QMainWindow()
    qtbot.addWidget(window)
    runner = TaskRunner(window)
    status = WindowStatus(window, runner)
    window.show()
    task = runner.start(lambda state: "synced")
    assert runner.current is None and not status.progress.isVisible()
    with qtbot.waitSignal(task.done, timeout=10_000):
        pass
    assert window.statusBar().currentMessage() == ""


def test_a_task_that_returns_after_its_window_is_gone_reaches_nothing_deleted(qtbot):
    from PySide6.QtWidgets import QMainWindow

    from app.ui.shell.status_bar import WindowStatus

    window = QMainWindow()
    runner = TaskRunner(window)
    WindowStatus(window, runner)
    release = threading.Event()
    task = runner.start(lambda state: release.wait(10), label="Checking plan…", key="check")
    with qtbot.waitSignal(window.destroyed, timeout=10_000):
        window.deleteLater()
    with qtbot.waitSignal(task.ended, timeout=10_000):
        release.set()
    assert not task.running  # and no slot of the deleted status bar or runner was called


def test_the_slots_of_a_gone_window_are_not_called(qtbot):
    from PySide6.QtWidgets import QLabel, QMainWindow

    window = QMainWindow()
    label = QLabel(window)
    runner = TaskRunner(window)
    release = threading.Event()
    task = runner.start(lambda state: release.wait(10) and "read", keep_result=True)
    task.done.connect(lambda text: label.setText(text))  # a closure over a child widget
    with qtbot.waitSignal(window.destroyed, timeout=10_000):
        window.deleteLater()
    assert task.superseded  # asked to stop, and nothing more of it is delivered
    with qtbot.waitSignal(task.ended, timeout=10_000):
        release.set()
