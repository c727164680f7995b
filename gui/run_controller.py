"""Runs the session's script on a worker thread, cancellably, and hands the result to the session."""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, QTimer, Signal

from gradstudio.core.graph import Graph, diff
from gradstudio.core.runner import CancelToken, RunResult, run_script
from gradstudio.core.session import Session

from .workers import TaskRunner


def _record(source: str, filename: str, token: CancelToken, base: Graph | None) -> tuple:
    """The run's result, and its graph diffed against `base` (the previous run's): both
    built here, off the GUI thread (the graph is cached on the tape)."""
    result = run_script(source, filename, cancel=token)
    compared = None
    if result.tape is not None and result.ok:
        graph = result.tape.graph()
        if base is not None:
            compared = (base, diff(base, graph))
    return result, compared


class RunController(QObject):
    """One run at a time per window; a new run cancels the one in flight."""

    sig_running = Signal(bool)
    """A run started (True) or ended (False)."""
    sig_progress = Signal(float)
    """Seconds the current run has taken so far (ticks while running)."""
    sig_finished = Signal(object)
    """A run ended with this RunResult (already handed to the session)."""

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.runner = TaskRunner(self)
        self.runner.sig_finished.connect(self._on_finished)
        self.runner.sig_failed.connect(self._on_failed)
        self._token: CancelToken | None = None
        self._started = 0.0
        self._pending_step: int | str = "end"
        self._ticker = QTimer(self)
        self._ticker.setInterval(200)
        self._ticker.timeout.connect(lambda: self.sig_progress.emit(time.perf_counter() - self._started))
        self._force = QTimer(self)
        self._force.setInterval(300)
        self._force.timeout.connect(self._on_force)

    @property
    def running(self) -> bool:
        return self._token is not None

    def run(self, step: int | str = "end") -> None:
        """Record the session's current source (a run still going is cancelled)."""
        if self._token is not None:
            self._token.cancel(force=True)
        token = CancelToken()
        self._token = token
        self._pending_step = step
        self._started = time.perf_counter()
        source, filename = self.session.source, self.session.filename
        base = self.session.comparison_base(filename)
        self.runner.submit(lambda: _record(source, filename, token, base))
        self._ticker.start()
        self.sig_running.emit(True)

    def cancel(self) -> None:
        """Stop at the next torch call; a loop that makes none is interrupted after a moment,
        again and again until it stops (user code may catch the interruption once)."""
        if self._token is not None:
            self._token.cancel()
            self._force.start()

    def _on_force(self) -> None:
        if self._token is not None:
            self._token.cancel(force=True)
        else:
            self._force.stop()

    def _done(self) -> None:
        self._token = None
        self._ticker.stop()
        self._force.stop()
        self.sig_running.emit(False)

    def _on_finished(self, outcome: tuple[RunResult, tuple | None]) -> None:
        result, compared = outcome
        self._done()
        self.session.apply_result(result, step=self._pending_step, compared=compared)
        self.sig_finished.emit(result)

    def _on_failed(self, exc: BaseException) -> None:  # a bug of ours, not the user's
        self._done()
        self.session.sig_notice.emit(f"Internal error while recording: {type(exc).__name__}: {exc}")

    def shutdown(self) -> None:
        if self._token is not None:
            for _ in range(20):  # a few tries: user code may swallow one interruption
                self._token.cancel(force=True)
                if self.runner.wait(100):
                    break
        self.runner.shutdown()
