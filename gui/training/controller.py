"""Runs one training run at a time and relays its rare transitions (started, paused, a step
recorded, finished) to the GUI thread as signals. Everything per step travels through the
run's MetricSeries, which the widgets poll on their own timers.

A run trains in a separate process (core/training/remote.py) kept ready in advance: Qt
keeps Python's interpreter lock while it paints, so plots drawn in the app's process would
take their painting time out of training. A run whose model or data cannot be pickled (even
by value, as classes typed into the editor are) trains on a thread of the app's process
instead, and `in_app_reason` says why. GRADSTUDIO_TRAINING=thread makes every run do so.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from torch import nn

from gradstudio.core.runs import RunStore
from gradstudio.core.training.job import JobResult, TrainingJob
from gradstudio.core.training.recipe import TrainingRecipe, pickle_recipe
from gradstudio.core.training.remote import RemoteJob, TrainingProcess
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

    def __init__(self, parent: QObject | None = None, mode: str | None = None):
        super().__init__(parent)
        self.mode = mode or training_mode()
        self.job: TrainingJob | RemoteJob | None = None
        self.in_app_reason: str | None = None  # why the current run trains in the app's process
        self.series: MetricSeries | None = None
        self.prepared: Prepared | None = None
        self.store_path: Path | None = None
        self.store_warning: str | None = None
        self._thread: threading.Thread | None = None
        self._standby: TrainingProcess | None = None
        self._spawn_error: OSError | None = None
        self._relay = _Relay()
        self._relay.sig.connect(self._on_job_state)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def warm_up(self) -> None:
        """Have a training process ready (it imports torch meanwhile), so Train starts at once.
        If none can be started, runs train in the app's process (`start` says why)."""
        if self.mode == "process" and (self._standby is None or not self._standby.alive):
            try:
                self._standby = TrainingProcess()
            except OSError as exc:
                self._standby, self._spawn_error = None, exc

    def _take_standby(self) -> TrainingProcess | None:
        self.warm_up()
        process, self._standby = self._standby, None
        return process

    def start(self, prepared: Prepared, probe=None, resume_from: str | None = None, paused: bool = False) -> None:
        """Start a run; raises (on this thread) for data or settings that cannot work."""
        if self.running:
            raise RuntimeError("a run is already going: stop it first")
        settings = prepared.settings
        recipe = TrainingRecipe(prepared.model, prepared.dataset, settings.loader, settings.train,
                                run_name=prepared.run_name, run_config=prepared.run_config, probe=probe,
                                resume_from=resume_from, start_paused=paused)
        loaders = recipe.loaders()  # a bad split or an unloadable dataset is said here, at once
        self.series = MetricSeries()
        self.prepared = prepared
        payload, self.in_app_reason = None, None
        if self.mode == "process":
            recipe.store_path = self._check_store()
            try:
                payload = pickle_recipe(recipe)
            except ValueError as exc:
                self.in_app_reason = str(exc)
        else:
            self.in_app_reason = "GRADSTUDIO_TRAINING=thread"
        process = self._take_standby() if payload is not None else None
        if payload is not None and process is None:
            self.in_app_reason = f"no training process could be started ({self._spawn_error})"
        if process is not None:
            job = RemoteJob(process, payload, series=self.series, on_state=self._relay.sig.emit,
                            store_path=recipe.store_path)
            self.job = job
            job.start()
            self._thread = job.thread
            return
        store = self._open_store()
        job = recipe.job(store=store, series=self.series, on_state=self._relay.sig.emit, loaders=loaders)
        self.job = job

        def work():
            try:
                job.run()
            finally:
                if store is not None:
                    store.close()
        self._thread = threading.Thread(target=work, name="gradstudio-training", daemon=True)
        self._thread.start()

    def _check_store(self) -> str | None:
        """The run database's path if it can be opened (the training process opens its own)."""
        store = self._open_store()
        if store is None:
            return None
        store.close()
        return str(self.store_path)

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
        if self._standby is not None:
            self._standby.close()
            self._standby = None

    def _on_job_state(self, state: str) -> None:
        self.sig_state.emit(state)
        if state == "finished" and self.job is not None and self.job.result is not None:
            self.sig_finished.emit(self.job.result)


def describe_result(result: JobResult) -> str:
    text = {"completed": "Completed", "stopped": "Stopped", "diverged": "Diverged", "failed": "Failed"}[result.status]
    return f"{text}: {result.reason}" if result.reason else f"{text} after {result.steps} steps"


def training_mode() -> str:
    """"process" (the default) or "thread", from GRADSTUDIO_TRAINING."""
    mode = os.environ.get("GRADSTUDIO_TRAINING", "process").strip().lower() or "process"
    if mode not in ("process", "thread"):
        raise ValueError(f"GRADSTUDIO_TRAINING: expected process or thread, got {mode!r}")
    return mode
