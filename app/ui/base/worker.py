"""Run a plain function off the UI thread, in the spirit of Orange3's TaskState.

The function receives a `TaskState` as its first argument and reports through it:
`state.set_progress(0.4)` (a fraction, or any object such as a dataclass),
`state.set_partial_result(x)`, and checks `state.is_cancelled()` (or passes
`state.is_cancelled` to app/io or app/scim as their `cancelled` callable). Everything
reaches the UI thread through queued signals of the `Task` object `start_task` returns:

    task = start_task(read_users_task, paths)
    task.progress.connect(bar.set_fraction)
    task.done.connect(on_users)        # the function's return value
    task.error.connect(on_error)       # the exception it raised
    task.cancelled.connect(on_cancel)  # it returned after task.cancel()
    cancel_button.clicked.connect(task.cancel)

Exactly one of done, error, cancelled is emitted, then `finished`; with
`start_task(..., keep_result=True)` a function that returns after a cancel still delivers its
result through `done` (a cancelled sync reports what it did, marked cancelled). The function
must not touch Qt widgets. Progress is throttled so a fast loop cannot flood the event queue.

A window starts every background job through one `TaskRunner`, the app's one typed
operation API (as Anki's aqt/operations and Orange3's ConcurrentMixin):
`tasks.start(fn, *args, label="Reading…", key="read-export")`. A task with a label is the
window's current one (the status bar shows its label, progress and Cancel); a task started
with the key of a running one supersedes it: the old one is asked to cancel and nothing it
reports afterwards is delivered, so the newest request wins at once. A job that must not
overlap the running tasks (a sync during a read) is handed to `then(job)` instead and starts
once they have all returned, in the order asked, instead of polling with timers.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from functools import partial
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, QTimer, Signal

PROGRESS_INTERVAL = 0.05  # seconds between two progress signals


@dataclass(frozen=True)
class Progress:
    """A fraction 0..1 with words for it ("120 of 400 pages read"), for the status bar."""

    fraction: float
    text: str


class TaskState:
    """What the background function sees: report progress, partial results, check cancel."""

    def __init__(self, task: Task[Any]) -> None:
        self._task = task
        self._cancel = threading.Event()
        self._last_progress = 0.0
        self._progress_lock = threading.Lock()  # a sync's workers report from several threads

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def set_progress(self, value: Any, final: bool = False) -> None:
        """A fraction 0..1 or any object; throttled except for the last one (1.0, or any value
        marked `final`, such as a sync's count when the last request is done)."""
        with self._progress_lock:
            now = time.monotonic()
            if not (final or value == 1.0) and now - self._last_progress < PROGRESS_INTERVAL:
                return
            self._last_progress = now
            self._task._report.emit("progress", value)

    def set_partial_result(self, value: Any) -> None:
        self._task._report.emit("partial", value)


class Task[T](QObject):
    """The UI-thread handle of a running function returning T (`done` carries the T).

    The pool thread reports through one queued signal; the handle re-emits it on the UI
    thread unless the task was superseded, so a superseded task stays silent.
    """

    progress = Signal(object)
    partial = Signal(object)
    outcome = Signal(object, str)  # (this task, "done" | "error" | "cancelled"), just before
    done = Signal(object)
    error = Signal(object)
    cancelled = Signal()
    finished = Signal()
    ended = Signal(object)  # (this task): its function returned, also when superseded
    _report = Signal(str, object)  # (kind, value) from the pool thread

    def __init__(
        self, parent: QObject | None = None, keep_result: bool = False, label: str = "",
        key: Hashable | None = None,
    ) -> None:
        super().__init__(parent)
        self.state = TaskState(self)
        self.running = True
        self.keep_result = keep_result
        self.label = label  # shown in the status bar while it runs; "" for none
        self.key = key  # a later task with the same key supersedes this one
        self.superseded = False
        self._report.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def cancel(self) -> None:
        """Ask the function to stop; it returns at its next check and `cancelled` follows."""
        self.state._cancel.set()

    def supersede(self) -> None:
        """A newer task took this one's place: cancel it and deliver nothing more of it."""
        self.superseded = True
        self.cancel()

    def _deliver(self, kind: str, value: Any) -> None:
        if kind == "end":
            self.running = False
            if not self.superseded:
                self.finished.emit()
            self.ended.emit(self)
            return
        if self.superseded:
            return
        if kind in ("done", "error", "cancelled"):
            self.outcome.emit(self, kind)
        if kind == "cancelled":
            self.cancelled.emit()
        else:
            {"progress": self.progress, "partial": self.partial, "done": self.done,
             "error": self.error}[kind].emit(value)


_RUNNING: set[Task[Any]] = set()  # keeps tasks alive until their function returns


class _Runnable(QRunnable):
    def __init__(
        self, task: Task[Any], fn: Callable[..., Any], args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task, self._fn, self._args, self._kwargs = task, fn, args, kwargs

    def run(self) -> None:
        task = self._task
        kind: str
        value: Any = None
        try:
            value = self._fn(task.state, *self._args, **self._kwargs)
            kind = "done"
        except Exception as exc:  # handed to the UI thread as is
            kind, value = "error", exc
        if task.state.is_cancelled() and not task.keep_result:
            kind, value = "cancelled", None
        task._report.emit(kind, value)
        task._report.emit("end", None)


def start_task[T](
    fn: Callable[..., T], *args: Any, pool: QThreadPool | None = None,
    keep_result: bool = False, label: str = "", key: Hashable | None = None, **kwargs: Any,
) -> Task[T]:
    """Run fn(state, *args, **kwargs) on a pool thread; connect to the returned Task's signals.

    The function starts once control returns to the event loop, so connections made right
    after this call are in place before any signal is emitted.
    """
    task: Task[T] = Task(keep_result=keep_result, label=label, key=key)
    _RUNNING.add(task)
    task.ended.connect(_RUNNING.discard)
    runnable = _Runnable(task, fn, args, kwargs)
    QTimer.singleShot(0, task, lambda: (pool or QThreadPool.globalInstance()).start(runnable))
    return task


class TaskRunner(QObject):
    """Every background task of one window starts here, so "is anything running?" and "which
    task does the status bar show?" have one answer each, a newer request supersedes an older
    one with its key, and a job that must wait for the running tasks is queued, not polled."""

    started = Signal(object)  # a Task with a label: the window's current task from now on

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: list[Task[Any]] = []
        self._waiting: deque[tuple[Hashable | None, Callable[[], None]]] = deque()
        self.current: Task[Any] | None = None  # the newest labelled task without an outcome
        # The window is gone: its tasks stop, and none of their slots (closures over deleted
        # widgets) is called any more.
        self.destroyed.connect(partial(_drop_all, self._running))

    @property
    def busy(self) -> bool:
        """True while the function of a task started here (superseded ones too) runs."""
        return bool(self._running)

    def start[T](
        self, fn: Callable[..., T], *args: Any, label: str = "", key: Hashable | None = None,
        keep_result: bool = False, **kwargs: Any,
    ) -> Task[T]:
        """Start fn(state, *args, **kwargs) now (see start_task) and return its Task.

        `label`: the status bar shows it with the task's progress and Cancel. `key`: a running
        task with the same key is superseded (cancelled; its done, error and finished are never
        delivered), so a second export opened while the first is read replaces it at once.
        """
        if key is not None:
            for old in self._running:
                if old.key == key and not old.superseded:
                    old.supersede()
                    if old is self.current:
                        self.current = None
        task = start_task(fn, *args, keep_result=keep_result, label=label, key=key, **kwargs)
        self._running.append(task)
        task.ended.connect(self._ended)  # bound methods: dropped if the window goes first
        if label:
            self.current = task
            task.outcome.connect(self._settled)
            self.started.emit(task)
        return task

    def cancel(self, task: Task[Any] | None) -> None:
        """The one way to stop a task: its function returns at its next check."""
        if task is not None and task in self._running:
            task.cancel()

    def cancel_all(self) -> None:
        """Stop every running task (the window closes)."""
        for task in list(self._running):
            task.cancel()

    def then(self, job: Callable[[], None], key: Hashable | None = None) -> None:
        """Call job on the UI thread once no task is running: now when idle, else after the
        running ones have finished, in the order asked. A waiting job with the same `key` is
        superseded by this one (a second Refresh replaces the first, it does not run twice)."""
        if key is not None:
            self._waiting = deque(w for w in self._waiting if w[0] != key)
        self._waiting.append((key, job))
        if not self._running:
            self._run_waiting()

    def _settled(self, task: Task[Any], _kind: str) -> None:
        """Before the task's own done/error/cancelled: its slots may start the next task."""
        if self.current is task:
            self.current = None

    def _ended(self, task: Task[Any]) -> None:
        self._running.remove(task)
        if not self._running:  # after every other slot of `finished` (they clear their state)
            QTimer.singleShot(0, self, self._run_waiting)

    def _run_waiting(self) -> None:
        """Run waiting jobs until one of them starts a task; the rest wait for it."""
        while self._waiting and not self._running:
            _key, job = self._waiting.popleft()
            job()


def _drop_all(tasks: list[Task[Any]]) -> None:
    for task in tasks:
        task.supersede()
