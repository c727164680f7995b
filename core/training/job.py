"""A training run from start to stored record: the engine driven on a worker thread, with
start, pause, resume, stop and single step, metrics into the run store and a live series,
checkpoints, and every way a run can end written down as a status with its reason.

The GUI never receives a signal per step: it polls `series.version`, `probe_version` and
`state` at its own pace. `on_state` fires only on rare transitions (started, paused,
recorded, finished), from the training thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..runs.checkpoints import load_checkpoint, save_checkpoint
from .config import TrainConfig
from .engine import Diverged, StepMetrics, Trainer

_OOM_TYPES = tuple(t for t in (getattr(torch, "OutOfMemoryError", None),
                               getattr(torch.cuda, "OutOfMemoryError", None)) if t is not None)


class _Stop(Exception):
    """Raised inside the loop when the user stops the run."""


@dataclass
class JobResult:
    status: str  # completed, stopped, diverged, failed
    reason: str | None
    run_id: int | None
    steps: int
    checkpoint: str | None = None


@dataclass
class Progress:
    """How far a run has got, for a status line."""

    step: int  # optimizer steps taken
    epoch: int  # the epoch being trained (0-based; == epochs once done)
    epochs: int
    steps_per_epoch: int
    device: str

    @property
    def total_steps(self) -> int:
        return self.epochs * self.steps_per_epoch


def _is_oom(exc: BaseException) -> bool:
    """CUDA's OutOfMemoryError, and the CPU allocator's refusal (a plain RuntimeError)."""
    if isinstance(exc, _OOM_TYPES):
        return True
    text = str(exc).lower()
    return isinstance(exc, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _user_line(exc: BaseException) -> str:
    """`file:line` of the innermost frame of the user's code, if any."""
    from ..capture.source import is_user_file

    where, tb = "", exc.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if is_user_file(name):
            where = f" (at {name}:{tb.tb_lineno})"
        tb = tb.tb_next
    return where


class TrainingJob:
    """One run. Build it on any thread, call `run()` on a worker, control it from another."""

    def __init__(self, model: nn.Module, train_loader: DataLoader, val_loader: DataLoader | None, config: TrainConfig,
                 *, store=None, run_name: str = "", run_config: dict | None = None, series=None,
                 resume_from: str | None = None, grad_norms_every: int = 10, checkpoint_every_epoch: bool = True,
                 checkpoint_every_s: float = 60.0, publish_every_s: float = 0.1,
                 probe: Callable[[nn.Module], Any] | None = None, probe_every_s: float = 0.5,
                 on_state: Callable[[str], None] | None = None, on_step: Callable[[StepMetrics], None] | None = None,
                 wrap: Callable | None = None, device: torch.device | None = None, writer: bool = True,
                 start_paused: bool = False):
        self.model, self.train_loader, self.val_loader, self.config = model, train_loader, val_loader, config
        self.store = store if writer else None  # under torchrun only rank 0 writes
        self.run_name = run_name or f"{type(model).__name__} {time.strftime('%Y-%m-%d %H:%M:%S')}"
        self.run_config = dict(run_config or {})
        self.series = series
        self.resume_from = resume_from
        self.grad_norms_every = grad_norms_every
        self.checkpoint_every_epoch = checkpoint_every_epoch
        # at an epoch's end when this long has passed since the last one (0: every epoch);
        # always when the run ends, however it ends
        self.checkpoint_every_s = checkpoint_every_s
        self._last_checkpoint_at = time.monotonic()
        # metrics go to the series and the store in batches this often (and at every pause and
        # ending): per-step hand-overs cost more than the step of a small model
        self.publish_every_s = publish_every_s
        self._unpublished: list[StepMetrics] = []
        self._last_publish = time.monotonic()
        self.probe, self.probe_every_s = probe, probe_every_s
        self.on_state, self.on_step = on_state, on_step
        self.wrap, self.device = wrap, device
        self.trainer: Trainer | None = None
        self.run_id: int | None = None
        self.state = "ready"  # ready, running, paused, finished
        self.result: JobResult | None = None
        self.latest_probe: Any = None
        self.probe_version = 0
        self.last_tape = None  # the tape of the last recorded single step
        self.last_checkpoint: str | None = None
        self.lock = threading.RLock()  # held while the model changes; hold it to read the model
        self._cond = threading.Condition()
        self._paused = start_paused  # e.g. to take a single recorded step first
        self._stop = False
        self._stop_reason: str | None = None
        self._steps_allowed: int | None = None  # None: run freely; n: n more steps, then pause
        self._record_step = False
        self._last_probe = 0.0

    # -- control (any thread) ----------------------------------------------------------------
    def pause(self) -> None:
        with self._cond:
            self._paused = True
            self._cond.notify_all()

    def resume(self) -> None:
        with self._cond:
            self._paused, self._steps_allowed = False, None
            self._cond.notify_all()

    def stop(self, reason: str | None = None) -> None:
        """End the run after the step under way; `reason` replaces "stopped by the user"."""
        with self._cond:
            self._stop = True
            self._stop_reason = self._stop_reason or reason
            self._cond.notify_all()

    def step_once(self, record: bool = True) -> None:
        """Train one batch, then pause; with `record`, the batch is recorded as a tape."""
        with self._cond:
            self._paused, self._steps_allowed, self._record_step = False, 1, record
            self._cond.notify_all()

    def progress(self) -> Progress | None:
        """Where the run is (None before it has started)."""
        t = self.trainer
        if t is None:
            return None
        return Progress(t.step, t.epoch, t.config.epochs, len(t.train_loader), str(t.device))

    # -- the run (worker thread) -------------------------------------------------------------
    def run(self) -> JobResult:
        steps = 0
        try:
            self.trainer = trainer = Trainer(self.model, self.train_loader, self.val_loader, self.config,
                                             device=self.device, wrap=self.wrap)
            trainer.grad_norms_every = self.grad_norms_every
            trainer.step_lock = self.lock
            trainer.check()  # a mismatch is refused before the first step and before a record exists
            if self.resume_from:
                trainer.load_state_dict(load_checkpoint(self.resume_from, map_location=trainer.device))
        except Exception as exc:
            return self._finish("failed", f"{exc}{_user_line(exc)}")
        self._start_record(trainer)
        self._set_state("running")
        try:
            self._wait_if_paused()
            for metrics in trainer.steps():
                steps += 1
                self._publish(metrics)
                if (self.checkpoint_every_epoch and metrics.end_of_epoch
                        and time.monotonic() - self._last_checkpoint_at >= self.checkpoint_every_s):
                    self._checkpoint(trainer, "end of epoch")
                self._maybe_probe()
                self._wait_if_paused()
        except _Stop:
            ckpt = self._checkpoint(trainer, "stopped")
            why = self._stop_reason or "stopped by the user"
            return self._finish("stopped", f"{why} at step {trainer.step}", ckpt)
        except Diverged as exc:
            ckpt = self._checkpoint_if_finite(trainer, exc.step)
            kept = f"; last good weights kept in {ckpt}" if ckpt else ""
            return self._finish("diverged", f"{exc}{kept}", ckpt)
        except Exception as exc:
            if _is_oom(exc):
                if trainer.device.type == "cuda":
                    torch.cuda.empty_cache()
                loader = self.train_loader
                reason = (f"out of memory on {trainer.device} at step {trainer.step} (batch size "
                          f"{getattr(loader, 'batch_size', '?')}){_user_line(exc)}: try a smaller batch size or a smaller model")
                return self._finish("failed", reason)
            first = str(exc).splitlines()[0] if str(exc) else ""
            return self._finish("failed", f"{type(exc).__name__} at step {trainer.step}: {first}{_user_line(exc)}")
        ckpt = self._checkpoint(trainer, "completed")
        self._maybe_probe(force=True)
        return self._finish("completed", None, ckpt)

    def _start_record(self, trainer: Trainer) -> None:
        if self.store is None:
            return
        from ..runs.machine import machine_info

        config = dict(self.run_config)
        config["train"] = self.config.to_dict()
        config["device"] = str(trainer.device)
        config["parameters"] = sum(p.numel() for p in self.model.parameters())
        config["steps_per_epoch"] = len(trainer.train_loader)
        if self.resume_from:
            config["resumed_from"] = self.resume_from
        self.run_id = self.store.start_run(self.run_name, config, machine_info())

    def _publish(self, metrics: StepMetrics) -> None:
        if self.on_step is not None:
            self.on_step(metrics)
        self._unpublished.append(metrics)
        if metrics.end_of_epoch or time.monotonic() - self._last_publish >= self.publish_every_s:
            self.publish()

    def publish(self) -> None:
        """Hand the steps trained since the last call to the series and the store (training thread)."""
        batch, self._unpublished = self._unpublished, []
        self._last_publish = time.monotonic()
        if not batch:
            return
        rows = []
        for metrics in batch:  # the first accuracy read works out the whole batch's
            values = metrics.values()
            values["epoch"] = metrics.epoch
            rows.append((metrics.step, values))
        if self.series is not None:
            self.series.extend(rows)
        if self.store is not None:
            self.store.log_many(self.run_id, rows)

    def _wait_if_paused(self) -> None:
        """Between steps: honour pause, stop and single-step requests."""
        if not (self._paused or self._stop or self._record_step or self._steps_allowed is not None):
            return  # nothing asked: no lock taken (the flags are plain attributes, read atomically)
        with self._cond:
            if self._steps_allowed == 0:  # the single step granted has been taken
                self._paused, self._steps_allowed = True, None
            pausing = self._paused and not self._stop
        if pausing:  # outside the condition: the probe takes the model lock
            self.publish()
            if self.store is not None:
                self.store.flush()
            self._maybe_probe(force=True)
            self._set_state("paused")
        with self._cond:
            while self._paused and not self._stop:
                self._cond.wait(0.25)
            if self._stop:
                raise _Stop
            if self._steps_allowed is not None:
                self._steps_allowed -= 1
            record, self._record_step = self._record_step, False
        if pausing:
            self._set_state("running")
        if record and self.trainer is not None:
            self.trainer.record_next = self._recording

    @contextmanager
    def _recording(self):
        """The next step through the capture engine: its forward and backward as a tape."""
        from ..capture import record

        with record(self.model) as tape:
            yield tape
        self.last_tape = tape
        self._notify("recorded")

    def _maybe_probe(self, force: bool = False) -> None:
        if self.probe is None:
            return
        now = time.monotonic()
        if not force and now - self._last_probe < self.probe_every_s:
            return
        self._last_probe = now
        with self.lock:
            self.latest_probe = self.probe(self.model)
        self.probe_version += 1

    def _checkpoint(self, trainer: Trainer, note: str) -> str | None:
        if self.store is None or self.run_id is None:
            return None
        ckpt = save_checkpoint(self.store, self.run_id, trainer.state_dict(), note)
        self.last_checkpoint = ckpt.path
        self._last_checkpoint_at = time.monotonic()
        return ckpt.path

    def _checkpoint_if_finite(self, trainer: Trainer, step: int) -> str | None:
        """Diverged: the weights before the bad step are still good unless already NaN."""
        if all(bool(torch.isfinite(p).all()) for p in self.model.parameters()):
            return self._checkpoint(trainer, f"last good weights, before step {step}")
        return self.last_checkpoint

    def _finish(self, status: str, reason: str | None, checkpoint: str | None = None) -> JobResult:
        try:
            self.publish()
        except Exception as exc:  # the ending is still written down, with what went wrong
            reason = f"{reason or status}; the last metrics could not be stored: {exc}"
        if self.store is not None and self.run_id is not None:
            self.store.finish(self.run_id, status, reason)
        steps = self.trainer.step if self.trainer is not None else 0
        self.result = JobResult(status, reason, self.run_id, steps, checkpoint)
        self._set_state("finished")
        return self.result

    def _set_state(self, state: str) -> None:
        self.state = state
        self._notify(state)

    def _notify(self, what: str) -> None:
        if self.on_state is not None:
            self.on_state(what)
