"""One step in the app's window on a long tape: everything a key press runs, against copying
the graph as of that step (`graph.at(k)`, which the status bar and the inspector each did
per step before), in the same run.

    QT_QPA_PLATFORM=offscreen python benchmarks/stepping.py [--layers 13 135] [--samples 40]

GPTs as in `graph_view.py` (135 layers: ~10,000 autograd nodes). The window shows the
tape, the layout is waited for, a node of the middle of the tape is selected (so the
inspector has something to show), then `session.set_step(k)` is timed for random steps
(all panels react synchronously: graph scene, timeline, editor, inspector, status bar).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from graph_view import record_gpt  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--layers", type=int, nargs="+", default=[13, 135])
    ap.add_argument("--samples", type=int, default=40)
    args = ap.parse_args()

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    from gradstudio.core.session import Session
    from gradstudio.gui.main_window import MainWindow

    app = QApplication.instance() or QApplication([])
    rng = random.Random(0)
    print(f"{'nodes':>7}{'events':>8}{'step ms':>10}{'at(k) ms':>10}{'ratio':>8}")
    for layers in args.layers:
        _model, _loss, tape, _ = record_gpt(layers)
        settings = QSettings(str(Path(os.environ.get("TMPDIR", "/tmp")) / "gradstudio-bench.ini"),
                             QSettings.Format.IniFormat)
        session = Session()
        win = MainWindow(settings=settings, session=session)
        win.resize(1400, 900)
        win.show()
        laid_out = []
        win.graph_panel.sig_layout_ready.connect(laid_out.append)
        session.set_tape(tape)
        deadline = time.perf_counter() + 300
        while not laid_out and time.perf_counter() < deadline:
            app.processEvents()
            time.sleep(0.01)
        graph = session.graph
        middle = sorted(graph.nodes.values(), key=lambda n: n.step)[len(graph.nodes) // 2]
        session.select(middle.id)
        steps = [rng.randrange(len(tape.events)) for _ in range(args.samples)]
        stepping, copying = [], []
        for k in steps:
            t = time.perf_counter()
            session.set_step(k)
            stepping.append(time.perf_counter() - t)
            app.processEvents()
            t = time.perf_counter()
            graph.at(k)
            copying.append(time.perf_counter() - t)
        step_ms, at_ms = statistics.median(stepping) * 1e3, statistics.median(copying) * 1e3
        print(f"{len(graph.nodes):>7}{len(tape.events):>8}{step_ms:>10.1f}{at_ms:>10.1f}{step_ms / at_ms:>8.2f}")
        win.close()
        win.deleteLater()
        app.processEvents()


if __name__ == "__main__":
    main()
