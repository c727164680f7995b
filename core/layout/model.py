"""The result of a layout: plain geometry keyed by node id, so any view can draw it.

Coordinates are points (1/72 inch) with y growing downward: leaves at the top, outputs at
the bottom, like torchviz. The layout is computed once for the whole tape, so stepping
through the recording only hides and shows nodes; nothing moves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..graph.model import GraphNode

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x, y (top-left), width, height
EdgeKey = tuple[str, str, int]  # src id, dst id, index among the edges src -> dst
Measure = Callable[[GraphNode], tuple[float, float]]

CHAR_WIDTH = 7.0  # points per character of a ~10 pt UI font, on average
LINE_HEIGHT = 14.0
PAD_X, PAD_Y = 16.0, 8.0


@dataclass
class Layout:
    """Where everything goes.

    Attributes:
        positions: node id -> centre (x, y).
        sizes: node id -> (w, h), as the measure function gave them.
        edges: (src, dst, index) -> points; `index` counts edges with the same ends in
            `graph.edges` order, so parallel edges (`x * x`) stay apart.
        edge_style: "bezier": points are cubic control points p0 (c1 c2 p)*, ending on the
            destination's border; "polyline": straight segments, same ends.
        clusters: module path -> (x, y, w, h) box, room for its label at the top included.
        bbox: (x, y, w, h) around everything.
        engine: "dot" or "builtin", the one that actually ran.
        seconds: wall time of the computation.
        fallback_reason: why another engine than the requested one ran, for the status bar.
        collapsed: the cluster paths shown as single nodes (`cluster:<path>`).
    """

    positions: dict[str, Point] = field(default_factory=dict)
    sizes: dict[str, tuple[float, float]] = field(default_factory=dict)
    edges: dict[EdgeKey, list[Point]] = field(default_factory=dict)
    edge_style: str = "polyline"
    clusters: dict[str, Rect] = field(default_factory=dict)
    bbox: Rect = (0.0, 0.0, 0.0, 0.0)
    engine: str = "builtin"
    seconds: float = 0.0
    fallback_reason: str | None = None
    collapsed: frozenset = frozenset()

    def node_rect(self, node_id: str) -> Rect:
        (x, y), (w, h) = self.positions[node_id], self.sizes[node_id]
        return (x - w / 2, y - h / 2, w, h)


def join_dims(shape) -> str:
    """`2×3×16×16`; a nested tensor's ragged dimension has no one size: `2×*×3`."""
    return "×".join("*" if d is None else str(d) for d in shape)


def shape_text(shape) -> str:
    """The second line of a node box: `2×3×16×16`, or '' for no shape."""
    if shape is None:
        return ""
    return join_dims(shape) if len(shape) else "scalar"


def default_measure(node: GraphNode) -> tuple[float, float]:
    """A Qt-free size estimate for a two-line box (label, shape); the GUI passes real
    font metrics instead."""
    lines = [node.label or node.id, shape_text(node.shape)]
    lines = [s for s in lines if s]
    w = max(len(s) for s in lines) * CHAR_WIDTH + PAD_X
    return (max(w, 40.0), len(lines) * LINE_HEIGHT + PAD_Y)


def edge_keys(edges) -> list[EdgeKey]:
    """(src, dst, index) for each edge, in order; stable under `Graph.at(step)`, which
    keeps edges in order."""
    seen: dict[tuple[str, str], int] = {}
    keys = []
    for e in edges:
        k = seen.get((e.src, e.dst), 0)
        seen[(e.src, e.dst)] = k + 1
        keys.append((e.src, e.dst, k))
    return keys
