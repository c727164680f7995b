"""What one redraw of the live curves costs when the run is long: a CurvesWidget showing
1,000,000 training-loss points (validation every 1,000), against 10,000 as the baseline.

Each measured refresh is what the timer does during training: one new step arrives (the
series' version moves), refresh() redraws, and the widget is painted (a grab). The smoothing
is on (0.9), so the faint raw curve and the smoothed one are both drawn.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/curve_refresh.py
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/curve_refresh.py --repeats 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication  # noqa: E402

from gradstudio.core.training.series import MetricSeries  # noqa: E402
from gradstudio.gui.training.curves import CurvesWidget  # noqa: E402

VAL_EVERY = 1000


def filled_series(points: int, seed: int = 0) -> MetricSeries:
    """A decaying noisy loss with a validation loss every VAL_EVERY steps."""
    rng = np.random.default_rng(seed)
    steps = np.arange(points)
    loss = (2 * np.exp(-steps / (points / 5)) + 0.1) * np.exp(rng.normal(0, 0.25, points))
    rows = [(int(i), {"loss": float(v), "val_loss": float(v) * 1.1 if i % VAL_EVERY == VAL_EVERY - 1 else None})
            for i, v in zip(steps, loss)]
    series = MetricSeries()
    series.extend(rows)
    return series


def measure(points: int, repeats: int = 15) -> float:
    """Median seconds of one refresh plus paint of a 1200x700 CurvesWidget whose run has
    `points` training-loss points, one new point arriving before each refresh."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    series = filled_series(points)
    widget = CurvesWidget(refresh_hz=0)  # no timer: each refresh is forced here
    widget.resize(1200, 700)
    widget.show()
    widget.set_series(series)
    app.processEvents()
    widget.grab()
    times = []
    step, last = points, float(series.arrays("loss")[1][-1])
    for _ in range(repeats):
        series.append(step, loss=last)  # a new step: the version moves
        step += 1
        start = time.perf_counter()
        widget.refresh()
        app.processEvents()
        widget.grab()
        times.append(time.perf_counter() - start)
    widget.close()
    widget.deleteLater()
    app.processEvents()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    measure(args.baseline, 3)  # warm-up: imports, first paint, font caches
    base = measure(args.baseline, args.repeats)
    big = measure(args.points, args.repeats)
    print(f"{args.baseline:>10,} points: {base * 1000:7.1f} ms per refresh (median of {args.repeats})")
    print(f"{args.points:>10,} points: {big * 1000:7.1f} ms per refresh (median of {args.repeats})")
    print(f"ratio: {big / base:.2f}")


if __name__ == "__main__":
    main()
