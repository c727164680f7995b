"""What the graph view costs as graphs grow, against torchviz on the same graph in the same run.

For GPTs of ~100 to ~20,000 autograd nodes (forward + backward recorded with
`gradstudio.core.record`):
- tape -> laid-out scene on screen: graph build, box measuring, layout, scene plan, items,
  first `set_step`; with the built-in engine and with Graphviz dot (dot skipped above
  --dot-max nodes);
- torchviz: `make_dot(loss, params=...)` + `.pipe(format="svg")` of the same loss (above
  --dot-max nodes the same `dot -Tsvg` call is run with a 60 s limit instead, since `pipe`
  cannot time out);
- one `set_step`: median and worst over random single steps (k -> k+1) and over random
  jumps, on the full, unfolded scene; and a step plus a repaint of a 1200×800 view at 100 %.

    QT_QPA_PLATFORM=offscreen python benchmarks/graph_view.py
    python benchmarks/graph_view.py --sizes 100 1000      # quicker
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import torch  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from models import GPT  # noqa: E402

NODES_PER_LAYER, NODES_BASE = 74, 24  # GPT(d=32): nodes = 74 * layers + 24, forward + backward


def record_gpt(layers: int):
    from gradstudio.core import record

    torch.manual_seed(0)
    model = GPT(layers=layers, d=32, heads=2, vocab=64, seq=16)
    idx = torch.randint(0, 64, (2, 16))
    t = time.perf_counter()
    with record(model) as tape:
        out = model(idx)
        loss = F.cross_entropy(out.flatten(0, 1), idx.flatten())
        loss.backward()
    return model, loss, tape, time.perf_counter() - t


def ours(tape, engine: str, app):
    """tape -> scene with every item built and the last step applied; seconds per stage."""
    from gradstudio.core.graph.build import build_graph
    from gradstudio.core.layout import collapse, compute_layout, default_measure
    from gradstudio.gui.graph_view.plan import build_plan
    from gradstudio.gui.graph_view.scene import GraphScene
    from gradstudio.gui.graph_view.text import Fonts, Measurer

    times = {}
    t = time.perf_counter()
    graph = build_graph(tape)
    times["graph"] = time.perf_counter() - t
    t = time.perf_counter()
    sizes = Measurer(Fonts.make(False)).sizes(graph)
    times["measure"] = time.perf_counter() - t
    t = time.perf_counter()
    lay = compute_layout(graph, engine=engine, measure=lambda n: sizes.get(n.id) or default_measure(n),
                         dot_max_nodes=10**9, dot_timeout=600)
    times["layout"] = time.perf_counter() - t
    t = time.perf_counter()
    plan = build_plan(graph, collapse(graph, lay.collapsed), lay)
    times["plan"] = time.perf_counter() - t
    t = time.perf_counter()
    scene = GraphScene(plan)
    scene.set_step(len(tape.events) - 1)
    app.processEvents()
    times["scene"] = time.perf_counter() - t
    times["total"] = sum(times.values())
    return graph, lay, scene, times


def median_run(fn, repeat: int):
    """Median of `repeat` timed runs after one warm-up (imports, caches), by total seconds."""
    fn()
    runs = [fn() for _ in range(repeat)]
    return sorted(runs, key=lambda r: r[-1]["total"] if isinstance(r, tuple) else (r or 1e9))[len(runs) // 2]


def torchviz_svg(model, loss, limit: float | None):
    """Seconds for make_dot + svg, or None past `limit` seconds."""
    from torchviz import make_dot

    t = time.perf_counter()
    dot = make_dot(loss, params=dict(model.named_parameters()))
    if limit is None:
        dot.pipe(format="svg")
    else:
        try:
            subprocess.run([shutil.which("dot"), "-Tsvg"], input=dot.source.encode(), capture_output=True,
                           timeout=max(limit - (time.perf_counter() - t), 1), check=True)
        except subprocess.TimeoutExpired:
            return None
    return time.perf_counter() - t


def step_costs(scene, n_events: int, samples: int, app):
    from PySide6.QtWidgets import QGraphicsView

    rng = random.Random(0)

    def timed(pairs):
        out = []
        for a, b in pairs:
            scene.set_step(a)
            t = time.perf_counter()
            scene.set_step(b)
            out.append(time.perf_counter() - t)
        return out

    singles = timed((k, k + 1) for k in (rng.randrange(n_events - 1) for _ in range(samples)))
    jumps = timed((rng.randrange(n_events), rng.randrange(n_events)) for _ in range(samples // 4))
    view = QGraphicsView(scene)
    view.resize(1200, 800)
    view.show()
    app.processEvents()
    painted = []
    for k in (rng.randrange(n_events - 1) for _ in range(40)):
        scene.set_step(k)
        cur = scene.current_nodes()
        if cur:
            view.centerOn(scene.nodes[cur[0]].center())
        app.processEvents()
        t = time.perf_counter()
        scene.set_step(k + 1)
        view.viewport().repaint()
        painted.append(time.perf_counter() - t)
    view.close()
    return singles, jumps, painted


def ms(x: float) -> str:
    return f"{x * 1000:.2f} ms" if x < 0.1 else f"{x * 1000:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="*", default=[100, 1000, 5000, 20000])
    ap.add_argument("--dot-max", type=int, default=5000, help="skip our dot layout above this many nodes")
    ap.add_argument("--torchviz-limit", type=float, default=60.0, help="seconds, above --dot-max nodes")
    ap.add_argument("--steps", type=int, default=400, help="random single steps timed per size")
    args = ap.parse_args()

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    have_dot = shutil.which("dot") is not None
    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, Graphviz dot: {'yes' if have_dot else 'no'}\n")
    rows = []
    for target in args.sizes:
        layers = max(1, round((target - NODES_BASE) / NODES_PER_LAYER))
        model, loss, tape, rec_s = record_gpt(layers)
        reps = 3 if target <= 5000 else 1
        graph, lay, scene, t_builtin = median_run(lambda: ours(tape, "builtin", app), reps)
        n, e = len(graph.nodes), len(graph.edges)
        print(f"== GPT, {layers} layers: {n:,} nodes, {e:,} edges, {len(tape.events):,} events "
              f"(recorded in {rec_s:.1f} s)")
        print("  ours, built-in: " + ", ".join(f"{k} {v:.2f} s" for k, v in t_builtin.items()))
        t_dot = None
        if have_dot and n <= args.dot_max:
            _, lay_d, scene_d, t_dot = median_run(lambda: ours(tape, "dot", app), reps)
            print("  ours, dot:      " + ", ".join(f"{k} {v:.2f} s" for k, v in t_dot.items())
                  + ("" if lay_d.engine == "dot" else f"  (fell back: {lay_d.fallback_reason})"))
            scene_d.deleteLater()
        else:
            print(f"  ours, dot:      skipped ({n:,} nodes > {args.dot_max:,})" if have_dot else "  ours, dot: no dot")
        tv = None
        if have_dot:
            limit = None if n <= args.dot_max else args.torchviz_limit
            tv = median_run(lambda: torchviz_svg(model, loss, limit), reps) if limit is None else torchviz_svg(model, loss, limit)
            print(f"  torchviz make_dot + svg: {tv:.2f} s" if tv is not None
                  else f"  torchviz make_dot + svg: skipped, took more than {args.torchviz_limit:g} s")
        if tv:
            r = f"  ratio ours/torchviz: built-in {t_builtin['total'] / tv:.2f}"
            if t_dot:
                r += f", dot {t_dot['total'] / tv:.2f}"
            print(r)
        singles, jumps, painted = step_costs(scene, len(tape.events), args.steps, app)
        print(f"  set_step k->k+1: median {ms(statistics.median(singles))}, worst {ms(max(singles))} "
              f"({len(singles)} random steps)")
        print(f"  set_step random jump: median {ms(statistics.median(jumps))}, worst {ms(max(jumps))} "
              f"({len(jumps)} jumps)")
        print(f"  set_step + repaint 1200x800 view at 100 %: median {ms(statistics.median(painted))}, "
              f"worst {ms(max(painted))}")
        rows.append((n, t_builtin["total"], t_dot["total"] if t_dot else None, tv,
                     statistics.median(singles), max(singles), statistics.median(jumps), max(jumps)))
        scene.deleteLater()
        app.processEvents()
        del model, loss, tape, graph, lay, scene
        print(flush=True)

    print("nodes    ours(builtin)  ours(dot)  torchviz  builtin/tv  dot/tv  step med  step worst  jump med  jump worst")
    for n, b, d, tv, sm, sw, jm, jw in rows:
        f = lambda x: f"{x:.2f} s" if x is not None else "skipped"  # noqa: E731
        rb = f"{b / tv:.2f}" if tv else "-"
        rd = f"{d / tv:.2f}" if tv and d else "-"
        print(f"{n:6,}  {f(b):>13}  {f(d):>9}  {f(tv):>8}  {rb:>10}  {rd:>6}  {ms(sm):>8}  {ms(sw):>10}  "
              f"{ms(jm):>8}  {ms(jw):>10}")


if __name__ == "__main__":
    main()
