"""The Training view: settings and controls on the left; live curves, what the model
predicts over the data, and per-layer gradient norms on the right.

Start trains on a worker thread. Pause, Step and Stop act between batches; Step trains one
batch through the capture engine and hands its tape to the graph view.
"""

from __future__ import annotations

import copy
import time
from collections import deque
from functools import partial

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.data import describe
from gradstudio.core.training.models import small_mlp_spec
from gradstudio.core.training.probe import curve_over, data_bounds, decision_grid
from gradstudio.core.training.settings import TrainingSettings

from .boundary import PredictionView
from .controller import Prepared, TrainingController, describe_result
from .curves import CurvesWidget
from .form import TrainingForm
from .grad_norms_plot import GradNormsPlot

MLP, BUILDER, LIVE = "mlp", "builder", "live"
NO_PREDICTION = ("What the model predicts is drawn for 2-D classification (the decision boundary) "
                 "and 1-D regression (the fitted curve).")


class TrainingView(QWidget):
    sig_tape = Signal(object)
    """A single step was recorded: its tape, for the graph view."""
    sig_run_finished = Signal(object)
    """A run ended (JobResult): the Runs panel refreshes."""

    def __init__(self, session, builder_document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.builder_document = builder_document
        self.controller = TrainingController(self)
        self._rate_samples: deque[tuple[float, int]] = deque()  # (time, step) over the last seconds
        self._probe_seen = 0
        self._task: str | None = None

        self.form = TrainingForm()
        self.start_button = QPushButton("▶  Train")
        self.pause_button = QPushButton("Pause")
        self.step_button = QPushButton("Step one batch")
        self.step_button.setToolTip("Train one batch through the capture engine and show its graph")
        self.stop_button = QPushButton("Stop")
        for button in (self.start_button, self.pause_button, self.step_button, self.stop_button):
            button.setMinimumHeight(30)
        self.start_button.setDefault(True)
        self.status = QLabel("Choose a dataset and a model, then Train.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextSelectableByMouse)

        controls = QWidget()
        grid = QVBoxLayout(controls)
        grid.setContentsMargins(6, 6, 6, 6)
        row1 = QHBoxLayout()
        row1.addWidget(self.start_button, 2)
        row1.addWidget(self.pause_button, 1)
        row2 = QHBoxLayout()
        row2.addWidget(self.step_button, 2)
        row2.addWidget(self.stop_button, 1)
        grid.addLayout(row1)
        grid.addLayout(row2)
        grid.addWidget(self.status)
        grid.addWidget(self.form)
        scroll = QScrollArea()
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(controls.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width() + 4)

        self.curves = CurvesWidget()
        self.prediction = PredictionView()
        self.no_prediction = QLabel(NO_PREDICTION)
        self.no_prediction.setWordWrap(True)
        self.no_prediction.setAlignment(Qt.AlignCenter)
        self.prediction_stack = QStackedWidget()
        self.prediction_stack.addWidget(self.prediction)
        self.prediction_stack.addWidget(self.no_prediction)
        self.grad_norms = GradNormsPlot()
        side = QSplitter(Qt.Vertical)  # beside the curves: what the model predicts, gradient norms
        side.addWidget(self._titled("What the model predicts", self.prediction_stack))
        side.addWidget(self._titled("Gradient norm per layer", self.grad_norms))
        right = QSplitter(Qt.Horizontal)
        right.addWidget(self.curves)
        right.addWidget(side)
        right.setStretchFactor(0, 3)
        right.setStretchFactor(1, 2)
        splitter = QSplitter(Qt.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([330, 900])
        self.splitters = (splitter, right, side)
        splitter.setMinimumSize(300, 200)  # a small window squeezes (or folds) columns instead of growing
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)

        self.start_button.clicked.connect(self.start)
        self.pause_button.clicked.connect(self.toggle_pause)
        self.step_button.clicked.connect(self.step)
        self.stop_button.clicked.connect(self.controller.stop)
        self.controller.sig_state.connect(self._on_state)
        self.controller.sig_finished.connect(self._on_finished)
        self.poll = QTimer(self)
        self.poll.setInterval(100)
        self.poll.timeout.connect(self._poll)
        self.session.sig_tape_changed.connect(lambda _tape: self.refresh_choices())
        self.refresh_choices()
        self.form.set_settings(TrainingSettings())
        self._update_buttons("ready")

    @staticmethod
    def _titled(title: str, widget: QWidget) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(4, 2, 4, 2)
        label = QLabel(title)
        label.setStyleSheet("font-weight: 600")
        v.addWidget(label)
        v.addWidget(widget, 1)
        return box

    # -- choices -----------------------------------------------------------------------
    def refresh_choices(self) -> None:
        choices = [("A small MLP sized for the dataset", MLP)]
        if self.builder_document is not None:
            choices.append(("The Builder's model", BUILDER))
        for name in self.session.script_models:
            choices.append((f"The script's {name}", f"script:{name}"))
        live = self.session.live_model
        if live is not None and not live.from_script:
            choices.append((f"{type(live.model).__name__} from {live.origin}", LIVE))
        self.form.set_model_choices(choices)
        from gradstudio.core.data import find_datasets

        self.form.set_user_classes(list(find_datasets(self.session.script_namespace)))

    # -- start -------------------------------------------------------------------------
    def prepare(self) -> Prepared:
        """Model, data and settings from the form; raises with a message naming the cause."""
        settings = self.form.settings()
        dataset = settings.dataset.build(self.session.script_namespace or None)
        key = self.form.model_choice.currentData() or MLP
        torch.manual_seed(settings.train.seed)  # the same seed, the same initial weights
        if key == MLP:
            spec = small_mlp_spec(dataset)
            model, record = spec.build(), {"source": "builder", "spec": spec.to_dict(), "note": "small MLP for the data"}
        elif key == BUILDER:
            spec = self.builder_document.root
            model, record = spec.build(), {"source": "builder", "spec": spec.to_dict()}
        elif key.startswith("script:"):
            name = key.split(":", 1)[1]
            original = self.session.script_models[name]
            model = copy.deepcopy(original)  # each run starts from the weights the script made
            record = {"source": "code", "class": type(original).__name__, "variable": name, "code": self.session.source}
        else:
            original = self.session.live_model.model
            model = copy.deepcopy(original)
            record = {"source": self.session.live_model.origin, "class": type(original).__name__}
        record["summary"] = f"{type(model).__name__} ({sum(p.numel() for p in model.parameters()):,} parameters)"
        run_config = {"dataset": settings.dataset.to_dict(), "dataset_summary": describe(dataset),
                      "loader": settings.to_dict()["loader"], "model": record}
        name = f"{describe(dataset).split(':')[0]} · {type(model).__name__} · {settings.train.optimizer} " \
               f"lr {settings.train.lr:g}"
        return Prepared(model, settings, dataset, run_config, name)

    def start(self, resume_from: str | None = None, prepared: Prepared | None = None, paused: bool = False) -> bool:
        if self.controller.running:
            return False
        try:
            prepared = prepared or self.prepare()
            probe = self._set_up_prediction(prepared)
            self.controller.start(prepared, probe=probe, resume_from=resume_from or None, paused=paused)
        except Exception as exc:  # settings, data, model: said in words, nothing lost
            self._show_status(f"Cannot start: {exc}", error=True)
            return False
        self._rate_samples.clear()
        self._probe_seen = 0
        self.curves.set_series(self.controller.series)
        self.grad_norms.set_series(self.controller.series)
        warning = self.controller.store_warning
        reason = self.controller.in_app_reason if self.controller.mode == "process" else None
        self.status.setToolTip(f"Training in the app's process: {reason}. Live plots take their drawing time "
                               "out of training there." if reason else "Training in a separate process.")
        self._show_status(warning or "Starting…", error=bool(warning))
        self.poll.start()
        self._update_buttons("running")
        return True

    def resume(self, record, checkpoint: str) -> bool:
        """Continue a stored run from its checkpoint: its settings, its model (rebuilt from the
        Builder spec it recorded, or the current choice when its weights fit), the same seed."""
        from gradstudio.core.builder import ModuleSpec
        from gradstudio.core.runs import load_checkpoint

        try:
            config = record.config
            settings = TrainingSettings.from_dict({k: config[k] for k in ("dataset", "loader", "train") if k in config})
            self.form.set_settings(settings)
            prepared = self.prepare()
            spec = config.get("model", {}).get("spec")
            if spec is not None:
                prepared.model = ModuleSpec.from_dict(spec).build()
                prepared.run_config["model"] = config["model"]
            state = load_checkpoint(checkpoint)["model"]
            missing = set(state) ^ set(prepared.model.state_dict())
            if missing:
                raise ValueError(f"the checkpoint's weights do not fit {type(prepared.model).__name__} "
                                 f"(e.g. {sorted(missing)[0]}): choose the model this run trained")
            prepared.run_name = f"{record.name} (resumed)"
        except Exception as exc:
            self._show_status(f"Cannot resume run {record.id}: {exc}", error=True)
            return False
        return self.start(resume_from=checkpoint, prepared=prepared)

    def _set_up_prediction(self, prepared: Prepared):
        dataset = prepared.dataset
        x, y = getattr(dataset, "x", None), getattr(dataset, "y", None)
        task = getattr(dataset, "task", None)
        self._task = None
        if isinstance(x, torch.Tensor) and x.dim() == 2 and x.shape[1] == 2 and task == "classification":
            self._task = "classification"
            self.prediction.set_dataset(x, y, task)
            self.prediction_stack.setCurrentWidget(self.prediction)
            return partial(decision_grid, bounds=data_bounds(x), resolution=100)
        if isinstance(x, torch.Tensor) and x.dim() == 2 and x.shape[1] == 1 and task == "regression":
            self._task = "regression"
            self.prediction.set_dataset(x, y, task)
            self.prediction_stack.setCurrentWidget(self.prediction)
            lo, hi = float(x.min()), float(x.max())
            pad = (hi - lo) * 0.05
            return partial(curve_over, xs=np.linspace(lo - pad, hi + pad, 200))
        self.prediction.clear()
        self.prediction_stack.setCurrentWidget(self.no_prediction)
        return None

    # -- controls ----------------------------------------------------------------------
    def toggle_pause(self) -> None:
        job = self.controller.job
        if job is None:
            return
        if job.state == "paused":
            self.controller.resume()
        else:
            self.controller.pause()

    def step(self) -> None:
        """One recorded batch: starts a paused run first if none is going."""
        if not self.controller.running and not self.start(paused=True):
            return
        self.controller.step(record=True)

    # -- observing ---------------------------------------------------------------------
    def _on_state(self, state: str) -> None:
        if state == "recorded" and self.controller.job is not None and self.controller.job.last_tape is not None:
            self.sig_tape.emit(self.controller.job.last_tape)
            return
        self._update_buttons(state)
        self._poll()

    def _on_finished(self, result) -> None:
        self.poll.stop()
        self._poll()
        self.curves.refresh()
        self.grad_norms.refresh()
        self._show_status(describe_result(result), error=result.status in ("failed", "diverged"))
        self._update_buttons("finished")
        self.sig_run_finished.emit(result)
        self.controller.warm_up()  # the next run's process, while the user looks at this one

    def _poll(self) -> None:
        job = self.controller.job
        if job is None:
            return
        if job.probe_version != self._probe_seen and job.latest_probe is not None:
            self._probe_seen = job.probe_version
            if self._task == "classification":
                self.prediction.set_grid(job.latest_probe)
            elif self._task == "regression":
                self.prediction.set_curve(*job.latest_probe)
        progress = job.progress()
        if job.state in ("running", "paused") and progress is not None:
            p = progress
            rate = self._rate(p.step)
            series = self.controller.series
            loss = series.arrays("loss")[1] if series is not None and "loss" in series else []
            last = f" · loss {loss[-1]:.4f}" if len(loss) else ""
            word = "Paused" if job.state == "paused" else "Training"
            where = " (in the app's process)" if self.controller.in_app_reason and self.controller.mode == "process" else ""
            # a run database that the app could open but the training process could not
            warning = getattr(job, "warning", None) or self.controller.store_warning
            self._show_status(f"{word} on {p.device}{where} · epoch {min(p.epoch + 1, p.epochs)}/{p.epochs} · "
                              f"step {p.step}/{p.total_steps}{last} · {rate:.0f} steps/s"
                              + (f" · {warning}" if warning else ""), error=bool(warning))

    def _rate(self, step: int, window_s: float = 3.0) -> float:
        """Steps per second over the last few seconds: the speed now, not since Train was
        pressed (which would count the training process's start and any pause)."""
        now = time.monotonic()
        samples = self._rate_samples
        samples.append((now, step))
        while len(samples) > 2 and now - samples[1][0] >= window_s:
            samples.popleft()
        then, first = samples[0]
        return (step - first) / (now - then) if now > then else 0.0

    def _update_buttons(self, state: str) -> None:
        going = state in ("running", "paused", "recorded")
        self.start_button.setEnabled(not going)
        self.form.setEnabled(not going)
        self.pause_button.setEnabled(going)
        self.pause_button.setText("Resume" if state == "paused" else "Pause")
        self.stop_button.setEnabled(going)
        self.step_button.setEnabled(state != "running")

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c62828" if error else "")

    def showEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if not self.controller.running:
            self.controller.warm_up()  # torch imports in the training process while the user sets up

    def shutdown(self) -> None:
        self.poll.stop()
        self.controller.shutdown()
