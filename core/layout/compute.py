"""Choosing an engine and falling back: dot when it is installed and the graph is small
enough for it to answer quickly, the built-in layout otherwise, always with a reason the
GUI can show when the user did not get what they asked for."""

from __future__ import annotations

import shutil
import time

from ..gcpause import gc_paused
from ..graph.model import Graph
from .builtin_engine import builtin_layout
from .collapse import collapse
from .dot_engine import DotError, dot_layout
from .model import Layout, Measure, default_measure

ENGINES = ("auto", "dot", "builtin")
DOT_MAX_NODES = 800  # dot: 0.15 s at 1k nodes, 2.2 s at 3.4k; past this "auto" picks builtin


def compute_layout(
    graph: Graph,
    engine: str = "auto",
    measure: Measure | None = None,
    collapsed=frozenset(),
    *,
    dot_max_nodes: int = DOT_MAX_NODES,
    dot_timeout: float = 60.0,
) -> Layout:
    """Lay out `collapse(graph, collapsed)` (the whole tape: positions are keyed by node id,
    so stepping never moves anything). `engine` is "auto", "dot" or "builtin"."""
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    with gc_paused():
        return _compute(graph, engine, measure, collapsed, dot_max_nodes, dot_timeout)


def _compute(graph, engine, measure, collapsed, dot_max_nodes, dot_timeout) -> Layout:
    t0 = time.perf_counter()
    collapsed = frozenset(collapsed)
    g = collapse(graph, collapsed)
    measure = measure or default_measure
    sizes = {nid: tuple(map(float, measure(n))) for nid, n in g.nodes.items()}
    reason = None
    lay = None
    if engine != "builtin":
        if shutil.which("dot") is None:
            reason = "Graphviz 'dot' not found on PATH: using the built-in layout"
        elif engine == "auto" and len(g.nodes) >= dot_max_nodes:
            reason = (f"{len(g.nodes):,} nodes: more than Graphviz 'dot' lays out quickly "
                      f"({dot_max_nodes:,}): using the built-in layout")
        else:
            try:
                lay = dot_layout(g, sizes, timeout=dot_timeout)
            except DotError as exc:
                reason = f"{exc}: using the built-in layout"
    if lay is None:
        lay = builtin_layout(g, sizes)
    lay.fallback_reason = reason
    lay.collapsed = collapsed
    lay.seconds = time.perf_counter() - t0
    return lay
