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

A window starts its tasks through one `TaskRunner` (as Anki's operations and Orange3's
ConcurrentMixin): a job that must not overlap the running ones is handed to `then(job)` and
starts once they have finished, in the order asked, instead of polling with timers.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

PROGRESS_INTERVAL = 0.05  # seconds between two progress signals


class TaskState:
    """What the background function sees: report progress, partial results, check cancel."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self._cancel = threading.Event()
        self._last_progress = 0.0

    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def set_progress(self, value: Any) -> None:
        """A fraction 0..1 or any object; throttled except for the final 1.0."""
        now = time.monotonic()
        if now - self._last_progress >= PROGRESS_INTERVAL or value == 1.0:
            self._last_progress = now
            self._task.progress.emit(value)

    def set_partial_result(self, value: Any) -> None:
        self._task.partial.emit(value)


class Task[T](QObject):
    """The UI-thread handle of a running function returning T (`done` carries the T; signals
    are delivered queued)."""

    progress = Signal(object)
    partial = Signal(object)
    done = Signal(object)
    error = Signal(object)
    cancelled = Signal()
    finished = Signal()

    def __init__(self, parent: QObject | None = None, keep_result: bool = False) -> None:
        super().__init__(parent)
        self.state = TaskState(self)
        self.running = True
        self.keep_result = keep_result

    def cancel(self) -> None:
        """Ask the function to stop; it returns at its next check and `cancelled` follows."""
        self.state._cancel.set()


_RUNNING: set[Task] = set()  # keeps tasks alive until their function returns


class _Runnable(QRunnable):
    def __init__(self, task: Task, fn: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._task, self._fn, self._args, self._kwargs = task, fn, args, kwargs

    def run(self) -> None:
        task = self._task
        try:
            result = self._fn(task.state, *self._args, **self._kwargs)
        except Exception as exc:  # handed to the UI thread as is
            if task.state.is_cancelled() and not task.keep_result:
                task.cancelled.emit()
            else:
                task.error.emit(exc)
        else:
            if task.state.is_cancelled() and not task.keep_result:
                task.cancelled.emit()
            else:
                task.done.emit(result)
        task.finished.emit()


def start_task[T](
    fn: Callable[..., T], *args: Any, pool: QThreadPool | None = None,
    keep_result: bool = False, **kwargs: Any,
) -> Task[T]:
    """Run fn(state, *args, **kwargs) on a pool thread; connect to the returned Task's signals.

    The function starts once control returns to the event loop, so connections made right
    after this call are in place before any signal is emitted.
    """
    task: Task[T] = Task(keep_result=keep_result)
    _RUNNING.add(task)
    task.finished.connect(lambda: _release(task))
    runnable = _Runnable(task, fn, args, kwargs)
    QTimer.singleShot(0, task, lambda: (pool or QThreadPool.globalInstance()).start(runnable))
    return task


def _release(task: Task) -> None:
    task.running = False
    _RUNNING.discard(task)


class TaskRunner(QObject):
    """Every background task of one window starts here, so "is anything running?" has one
    answer, and a job that must wait for the running tasks is queued rather than polled for."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._running: list[Task[Any]] = []
        self._waiting: deque[tuple[Hashable | None, Callable[[], None]]] = deque()

    @property
    def busy(self) -> bool:
        """True while a task started here has not emitted `finished` yet."""
        return bool(self._running)

    def start[T](self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> Task[T]:
        """Start fn(state, *args, **kwargs) now (see start_task); connect to the Task."""
        task = start_task(fn, *args, **kwargs)
        self._running.append(task)
        task.finished.connect(lambda: self._finished(task))
        return task

    def then(self, job: Callable[[], None], key: Hashable | None = None) -> None:
        """Call job on the UI thread once no task is running: now when idle, else after the
        running ones have finished, in the order asked. A waiting job with the same `key` is
        superseded by this one (a second Refresh replaces the first, it does not run twice)."""
        if key is not None:
            self._waiting = deque(w for w in self._waiting if w[0] != key)
        self._waiting.append((key, job))
        if not self._running:
            self._run_waiting()

    def _finished(self, task: Task[Any]) -> None:
        self._running.remove(task)
        if not self._running:  # after every other slot of `finished` (they clear their state)
            QTimer.singleShot(0, self, self._run_waiting)

    def _run_waiting(self) -> None:
        """Run waiting jobs until one of them starts a task; the rest wait for it."""
        while self._waiting and not self._running:
            _key, job = self._waiting.popleft()
            job()
