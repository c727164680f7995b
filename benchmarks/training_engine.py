"""Training speed without any GUI: the plain loop against gradstudio's run on a thread and in
its training process, on any device, in one run. Needs no Qt, so it runs on a GPU server.

    python benchmarks/training_engine.py [--device cuda] [--repeats 5] [--epochs 20] [--batch 32]

"thread" is the TrainingJob on a thread of this process; "process" is a run in a training
process started ahead of time, as the app makes it, timed to its "finished" arriving here.
Both store metrics in SQLite, log gradient norms every 10 steps, save a final checkpoint and
(for 2-D data) compute the prediction probe. Runs alternate and medians are compared.
benchmarks/training.py measures the same with the Training tab's plots drawing.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

from gradstudio.core.data import LoaderSettings, make_loaders
from gradstudio.core.runs import RunStore
from gradstudio.core.training import TrainConfig
from gradstudio.core.training.recipe import pickle_recipe
from gradstudio.core.training.remote import RemoteJob, TrainingProcess
from gradstudio.core.training.series import MetricSeries

sys.path.insert(0, str(Path(__file__).parent))

from training_cases import CASES, arguments, device_label, plain, recipe_for  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def on_thread(make, args, config, db: Path) -> float:
    recipe, _ = recipe_for(make, args, config, db)
    with RunStore(db) as store:
        job = recipe.job(store=store, series=MetricSeries())
        seconds = timed(job.run)
    assert job.result.status == "completed", job.result.reason
    return seconds


def in_process(make, args, config, db: Path, ready: TrainingProcess) -> float:
    recipe, _ = recipe_for(make, args, config, db)
    finished = threading.Event()
    job = RemoteJob(ready, pickle_recipe(recipe), series=MetricSeries(), store_path=recipe.store_path,
                    on_state=lambda state: state == "finished" and finished.set())
    start = time.perf_counter()
    job.start()
    finished.wait()
    seconds = time.perf_counter() - start
    job.join()
    assert job.result.status == "completed", job.result.reason
    return seconds


def main() -> None:
    args = arguments(__doc__)
    config = TrainConfig(optimizer="Adam", lr=0.01, epochs=args.epochs, device=args.device)
    print(f"torch {torch.__version__}, {device_label(args.device)}, batch {args.batch}, {args.epochs} epochs, "
          f"{args.repeats} alternating repeats, no GUI")
    print(f"{'case':<22}{'steps':>7}{'plain steps/s':>15}{'thread':>9}{'ratio':>7}{'process':>9}{'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            times = {"plain": [], "thread": [], "process": []}
            steps = 0
            ready = TrainingProcess()
            for r in range(args.repeats + 1):  # the first round warms up
                ready.wait_ready()
                model, data, _ = make()
                loader = make_loaders(data, LoaderSettings(batch_size=args.batch, validation_fraction=0))[0]
                steps = args.epochs * len(loader)
                measured = {"plain": timed(lambda: plain(model, loader, config)),
                            "thread": on_thread(make, args, config, Path(tmp) / f"t{r}.sqlite"),
                            "process": in_process(make, args, config, Path(tmp) / f"p{r}.sqlite", ready)}
                ready = TrainingProcess()
                if r:
                    for key, value in measured.items():
                        times[key].append(value)
            ready.close()
            p, t, o = (statistics.median(times[k]) for k in ("plain", "thread", "process"))
            print(f"{name:<22}{steps:>7}{steps / p:>15.0f}{steps / t:>9.0f}{p / t:>7.2f}{steps / o:>9.0f}{p / o:>7.2f}")


if __name__ == "__main__":
    main()
