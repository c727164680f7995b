"""Runs one TrainingJob at a time on a worker thread and relays its rare transitions
(started, paused, a step recorded, finished) to the GUI thread as signals. Everything per
step travels through the job's MetricSeries, which the widgets poll on their own timers.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from torch import nn

from gradstudio.core.data import make_loaders
from gradstudio.core.runs import RunStore
from gradstudio.core.training.job import JobResult, TrainingJob
from gradstudio.core.training.series import MetricSeries
from gradstudio.core.training.settings import TrainingSettings


@dataclass
class Prepared:
    """What a start needs, made on the GUI thread so a bad setting is reported at once."""

    model: nn.Module
    settings: TrainingSettings
    dataset: object
    run_config: dict
    run_name: str


class _Relay(QObject):
    """Emitting from the training thread queues the signal to the GUI thread."""

    sig = Signal(str)


class TrainingController(QObject):
    sig_state = Signal(str)
    """ready, running, paused, recorded, finished"""
    sig_finished = Signal(object)
    """The JobResult of the run that ended."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.job: TrainingJob | None = None
        self.series: MetricSeries | None = None
        self.prepared: Prepared | None = None
        self.store_path: Path | None = None
        self.store_warning: str | None = None
        self._thread: threading.Thread | None = None
        self._relay = _Relay()
        self._relay.sig.connect(self._on_job_state)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, prepared: Prepared, probe=None, resume_from: str | None = None) -> None:
        """Start a run; raises (on this thread) for data or settings that cannot work."""
        if self.running:
            raise RuntimeError("a run is already going: stop it first")
        settings = prepared.settings
        train_loader, val_loader = make_loaders(prepared.dataset, settings.loader)
        self.series = MetricSeries()
        store = self._open_store()
        self.prepared = prepared
        self.job = TrainingJob(prepared.model, train_loader, val_loader, settings.train, store=store,
                               run_name=prepared.run_name, run_config=prepared.run_config, series=self.series,
                               probe=probe, resume_from=resume_from, on_state=self._relay.sig.emit)
        job = self.job

        def work():
            try:
                job.run()
            finally:
                if store is not None:
                    store.close()
        self._thread = threading.Thread(target=work, name="gradstudio-training", daemon=True)
        self._thread.start()

    def _open_store(self) -> RunStore | None:
        """The training thread writes through its own connection (WAL: the Runs panel reads meanwhile)."""
        self.store_warning = None
        if self.store_path is None:
            return None
        try:
            return RunStore(self.store_path)
        except Exception as exc:
            self.store_warning = f"This run is not being stored: {exc}"
            return None

    def pause(self) -> None:
        if self.job:
            self.job.pause()

    def resume(self) -> None:
        if self.job:
            self.job.resume()

    def step(self, record: bool = True) -> None:
        if self.job:
            self.job.step_once(record=record)

    def stop(self) -> None:
        if self.job:
            self.job.stop()

    def wait(self, timeout: float = 30.0) -> bool:
        """Join the training thread (tests, closing the window)."""
        if self._thread is not None:
            self._thread.join(timeout)
        return not self.running

    def shutdown(self) -> None:
        self.stop()
        self.wait(10)

    def _on_job_state(self, state: str) -> None:
        self.sig_state.emit(state)
        if state == "finished" and self.job is not None and self.job.result is not None:
            self.sig_finished.emit(self.job.result)


def describe_result(result: JobResult) -> str:
    text = {"completed": "Completed", "stopped": "Stopped", "diverged": "Diverged", "failed": "Failed"}[result.status]
    return f"{text}: {result.reason}" if result.reason else f"{text} after {result.steps} steps"
