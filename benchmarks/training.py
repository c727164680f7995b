"""Training speed with everything the app adds, against a plain PyTorch loop, in one run.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/training.py [--repeats 5] [--epochs 3]

"gradstudio" is the TrainingJob as the app runs it: on a worker thread, metrics into a live
MetricSeries and the SQLite run store (flushed every second), gradient norms every 10 steps,
a checkpoint at the end, the decision-boundary probe every 0.5 s, while a CurvesWidget and a
GradNormsPlot (offscreen) redraw from the series at 5 Hz on the main thread.
"plain" is the seed's loop on the same model, data, device and thread layout, reading
`loss.item()` each step as any loop that reports its loss does.
Runs alternate and medians are compared, so machine noise hits both. Target (issue 5):
ratio >= 0.95 for an MLP on spirals and a small CNN on digits. Also prints the cost of one
curve refresh at 1,000,000 points against 10,000 (benchmarks/curve_refresh.py).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402
from torch import nn  # noqa: E402

from gradstudio.core.data import LoaderSettings, digits, make_loaders, spirals  # noqa: E402
from gradstudio.core.runs import RunStore  # noqa: E402
from gradstudio.core.training import TrainConfig  # noqa: E402
from gradstudio.core.training.engine import make_optimizer  # noqa: E402
from gradstudio.core.training.job import TrainingJob  # noqa: E402
from gradstudio.core.training.probe import data_bounds, decision_grid  # noqa: E402
from gradstudio.core.training.series import MetricSeries  # noqa: E402
from gradstudio.gui.training import CurvesWidget, GradNormsPlot  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))


def mlp_on_spirals():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
    data = spirals(size=2000)
    return model, data, partial(decision_grid, bounds=data_bounds(data.x), resolution=100)


def cnn_on_digits():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 4 * 4, 64), nn.ReLU(), nn.Linear(64, 10))
    return model, digits(flatten=False), None


CASES = {"MLP on spirals": mlp_on_spirals, "small CNN on digits": cnn_on_digits}


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


def plain(model, loader, config):
    device = torch.device(config.device)
    net = model.to(device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = make_optimizer(net.parameters(), config)
    for _ in range(config.epochs):
        for images, labels in loader:
            images, labels = images.to(device), labels.to(device)
            optimizer.zero_grad()
            outputs = net(images)
            loss = loss_fn(outputs, labels)
            loss.item()
            loss.backward()
            optimizer.step()


def gradstudio(model, loader, config, probe, db: Path, series: MetricSeries):
    """The job as the app runs it (on the worker thread; the widgets already watch `series`)."""
    with RunStore(db) as store:
        job = TrainingJob(model, loader, None, config, store=store, series=series, probe=probe)
        result = job.run()
    assert result.status == "completed", result.reason
    return series


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    widgets = [CurvesWidget(), GradNormsPlot()]  # their own timers redraw at 5 Hz
    for widget in widgets:
        widget.resize(900, 500)
        widget.show()
    config = TrainConfig(optimizer="Adam", lr=0.01, epochs=args.epochs, device=args.device)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, batch {args.batch}, "
          f"{args.epochs} epochs, {args.repeats} alternating repeats")
    print(f"{'case':<22}{'steps':>7}{'plain steps/s':>15}{'gradstudio steps/s':>20}{'ratio':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, make in CASES.items():
            times_plain, times_ours = [], []
            steps = 0
            for r in range(args.repeats + 1):  # the first pair warms up
                model, data, probe = make()
                loader = make_loaders(data, LoaderSettings(batch_size=args.batch, validation_fraction=0))[0]
                steps = args.epochs * len(loader)
                t_plain = in_thread(app, lambda: plain(model, loader, config))
                model, data, probe = make()
                loader = make_loaders(data, LoaderSettings(batch_size=args.batch, validation_fraction=0))[0]
                db = Path(tmp) / f"runs-{r}.sqlite"
                series = MetricSeries()
                for widget in widgets:  # on the GUI thread, as in the app
                    widget.set_series(series)
                t_ours = in_thread(app, lambda: gradstudio(model, loader, config, probe, db, series))
                if r:
                    times_plain.append(t_plain)
                    times_ours.append(t_ours)
            p, o = statistics.median(times_plain), statistics.median(times_ours)
            print(f"{name:<22}{steps:>7}{steps / p:>15.0f}{steps / o:>20.0f}{p / o:>8.2f}")
    from curve_refresh import measure

    small, large = measure(10_000), measure(1_000_000)
    print(f"curve refresh + paint: 10,000 points {small * 1e3:.1f} ms, 1,000,000 points {large * 1e3:.1f} ms "
          f"(ratio {large / small:.2f})")


if __name__ == "__main__":
    main()
