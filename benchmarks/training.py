"""Training speed with everything the app adds, against a plain PyTorch loop, in one run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/training.py [--repeats 5] [--epochs 20]

"plain" is the seed's loop on the same model, data, device and thread layout, reading
`loss.item()` each step as any loop that reports its loss does, on a worker thread while
this process's Qt event loop idles.
"gradstudio" is a run as the app makes it: a TrainingRecipe sent to a training process
started ahead of time (core/training/remote.py), with metrics into the SQLite run store
(every 0.8 s) and back into a live MetricSeries (every 0.1 s), gradient norms every 10
steps, a checkpoint at the end, the prediction probe every 0.5 s, while a CurvesWidget, a
GradNormsPlot and (for 2-D data) the decision-boundary PredictionView redraw at 5 Hz in
this process. Timed from the start of the run to its "finished" arriving here.
"in-app thread" is the fallback for a model no pickle can take (an open file, a weak
reference): the same TrainingJob on a thread of this process, under the same widgets.
Runs alternate and medians are compared, so machine noise hits all alike. Target (issue 5):
ratio >= 0.95 for an MLP on spirals and a small CNN on digits. Also prints the cost of one
curve refresh at 1,000,000 points against 10,000 (benchmarks/curve_refresh.py).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from PySide6.QtCore import QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from gradstudio.core.data import LoaderSettings, make_loaders  # noqa: E402
from gradstudio.core.runs import RunStore  # noqa: E402
from gradstudio.core.training import TrainConfig  # noqa: E402
from gradstudio.core.training.recipe import pickle_recipe  # noqa: E402
from gradstudio.core.training.remote import RemoteJob, TrainingProcess  # noqa: E402
from gradstudio.core.training.series import MetricSeries  # noqa: E402
from gradstudio.gui.training import CurvesWidget, GradNormsPlot  # noqa: E402
from gradstudio.gui.training.boundary import PredictionView  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))

from training_cases import CASES, arguments, device_label, plain, recipe_for  # noqa: E402


def in_thread(app: QApplication, fn) -> float:
    """Run `fn` on a worker while the main thread serves Qt events (as in the app); its seconds."""
    out = {}

    def work():
        start = time.perf_counter()
        fn()
        out["seconds"] = time.perf_counter() - start
    thread = threading.Thread(target=work)
    thread.start()
    while thread.is_alive():
        app.processEvents()
        thread.join(0.005)
    return out["seconds"]


class LiveWidgets:
    """The Training tab's plots, redrawing on their own 5 Hz timers; the prediction view is
    fed from the job's latest probe at 5 Hz, as the tab's poll does."""

    def __init__(self):
        self.curves, self.norms, self.prediction = CurvesWidget(), GradNormsPlot(), PredictionView()
        for widget in (self.curves, self.norms, self.prediction):
            widget.resize(900, 500)
            widget.show()
        self.job, self.seen = None, 0
        self.timer = QTimer()
        self.timer.timeout.connect(self._poll)
        self.timer.start(200)

    def watch(self, job, series: MetricSeries, data) -> None:
        self.curves.set_series(series)
        self.norms.set_series(series)
        self.job, self.seen = job, 0
        if data.x.dim() == 2 and data.x.shape[1] == 2:
            self.prediction.set_dataset(data.x, data.y, "classification")
        else:
            self.prediction.clear()

    def _poll(self) -> None:
        job = self.job
        if job is not None and job.probe_version != self.seen and job.latest_probe is not None:
            self.seen = job.probe_version
            self.prediction.set_grid(job.latest_probe)


def in_process(app: QApplication, widgets: LiveWidgets, make, args, config, db: Path, ready: TrainingProcess) -> float:
    """A run as the app makes it, in a training process that is already waiting."""
    recipe, data = recipe_for(make, args, config, db)
    series = MetricSeries()
    finished = {}

    def on_state(state: str) -> None:
        if state == "finished":
            finished["at"] = time.perf_counter()
    start = time.perf_counter()
    job = RemoteJob(ready, pickle_recipe(recipe), series=series, on_state=on_state, store_path=recipe.store_path)
    widgets.watch(job, series, data)
    job.start()
    while "at" not in finished:  # what the user waits for (the process then exits on its own)
        app.processEvents()
        job.join(0.005)
    job.join()
    assert job.result.status == "completed", job.result.reason
    return finished["at"] - start


def in_thread_of_app(app: QApplication, widgets: LiveWidgets, make, args, config, db: Path) -> float:
    """The fallback: the job on a thread of this process, under the same widgets."""
    recipe, data = recipe_for(make, args, config, db)
    series = MetricSeries()
    with RunStore(db) as store:  # opened here, written by the training thread (as in the app)
        job = recipe.job(store=store, series=series)
        widgets.watch(job, series, data)  # widgets are touched on this (the GUI) thread only
        seconds = in_thread(app, job.run)
    assert job.result.status == "completed", job.result.reason
    return seconds


def main() -> None:
    args = arguments(__doc__)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    widgets = LiveWidgets()
    config = TrainConfig(optimizer="Adam", lr=0.01, epochs=args.epochs, device=args.device)
    print(f"torch {torch.__version__}, {device_label(args.device)}, batch {args.batch}, "
          f"{args.epochs} epochs, {args.repeats} alternating repeats")
    print(f"{'case':<22}{'steps':>7}{'plain steps/s':>15}{'gradstudio':>12}{'ratio':>7}{'in-app thread':>15}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            times = {"plain": [], "process": [], "thread": []}
            steps = 0
            ready = TrainingProcess()  # the app keeps one waiting
            for r in range(args.repeats + 1):  # the first round warms up
                ready.wait_ready()  # (not importing torch while anything is measured)
                model, data, _ = make()
                loader = make_loaders(data, LoaderSettings(batch_size=args.batch, validation_fraction=0))[0]
                steps = args.epochs * len(loader)
                measured = {"plain": in_thread(app, lambda: plain(model, loader, config))}
                measured["process"] = in_process(app, widgets, make, args, config, Path(tmp) / f"p{r}.sqlite", ready)
                ready = TrainingProcess()  # as the app does after a run
                ready.wait_ready()
                measured["thread"] = in_thread_of_app(app, widgets, make, args, config, Path(tmp) / f"t{r}.sqlite")
                if r:
                    for key, value in measured.items():
                        times[key].append(value)
            ready.close()
            p, o, t = (statistics.median(times[k]) for k in ("plain", "process", "thread"))
            print(f"{name:<22}{steps:>7}{steps / p:>15.0f}{steps / o:>12.0f}{p / o:>7.2f}{steps / t:>15.0f}{p / t:>7.2f}")
    from curve_refresh import measure

    small, large = measure(10_000), measure(1_000_000)
    print(f"curve refresh + paint: 10,000 points {small * 1e3:.1f} ms, 1,000,000 points {large * 1e3:.1f} ms "
          f"(ratio {large / small:.2f})")


if __name__ == "__main__":
    main()
