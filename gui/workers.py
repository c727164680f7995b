"""Running long work off the GUI thread: user scripts, layouts, training.

A `TaskRunner` owns its threads: it starts one `QThread` per task, hands the result (or the
exception, as a value) back through a signal on the GUI thread, drops results of tasks that
a newer request superseded, and on `shutdown()` waits for every thread so none is destroyed
while running.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Callable

from PySide6.QtCore import QObject, QThread, Signal

log = logging.getLogger(__name__)
_STILL_RUNNING: list = []  # threads that outlived their owner, kept referenced until the process ends


class _TaskThread(QThread):
    sig_result = Signal(object, object)  # (value, error) — exactly one is not None

    def __init__(self, fn: Callable[[], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._fn = fn

    def run(self) -> None:  # runs on the worker thread
        try:
            value = self._fn()
        except BaseException as exc:  # report, never crash the app
            log.debug("task failed: %s", traceback.format_exc())
            self.sig_result.emit(None, exc)
        else:
            self.sig_result.emit(value, None)


class TaskRunner(QObject):
    """Runs tasks of one kind ("run", "layout"): the newest request wins.

    Signals deliver on the thread that owns the runner (the GUI thread).
    """

    sig_started = Signal()
    """A task started."""
    sig_finished = Signal(object)
    """The latest task returned this value."""
    sig_failed = Signal(object)
    """The latest task raised this exception."""
    sig_idle = Signal()
    """No task of this runner is running any more."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._threads: list[_TaskThread] = []
        self._latest: _TaskThread | None = None

    @property
    def busy(self) -> bool:
        return any(t.isRunning() for t in self._threads)

    def submit(self, fn: Callable[[], Any]) -> None:
        thread = _TaskThread(fn)
        thread.sig_result.connect(lambda value, error, t=thread: self._on_result(t, value, error))
        thread.finished.connect(lambda t=thread: self._on_thread_finished(t))
        self._threads.append(thread)
        self._latest = thread
        self.sig_started.emit()
        thread.start()

    def _on_result(self, thread: _TaskThread, value, error) -> None:
        if thread is not self._latest:
            return  # superseded by a newer request
        if error is not None:
            self.sig_failed.emit(error)
        else:
            self.sig_finished.emit(value)

    def _on_thread_finished(self, thread: _TaskThread) -> None:
        if thread in self._threads:
            thread.wait()
            self._threads.remove(thread)
            thread.deleteLater()
        if not self._threads:
            self.sig_idle.emit()

    def wait(self, msecs: int = 30_000) -> bool:
        """Block until every task ended (tests, shutdown)."""
        return all(t.wait(msecs) for t in list(self._threads))

    def shutdown(self, msecs: int = 5_000) -> None:
        """Called by the owner when it closes: tasks must end before the threads go, and
        no queued notification of theirs may reach this runner afterwards."""
        self._latest = None
        for t in list(self._threads):
            finished = t.wait(msecs)
            for signal in (t.sig_result, t.finished):
                try:
                    signal.disconnect()
                except (RuntimeError, TypeError):
                    pass
            if not finished:  # destroying a running QThread aborts the process: keep it
                t.setParent(None)
                _STILL_RUNNING.append(t)
                log.warning("a task did not stop within %d ms; leaving it to finish", msecs)
        self._threads.clear()
