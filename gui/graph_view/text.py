"""What a node box says and how big that makes it.

The layout runs on a worker thread without Qt fonts, so box sizes are measured here, on
the GUI thread, with the very fonts the items paint with, and handed to the layout as a
lookup table. Fonts use pixel sizes: one pixel is one layout point, so measuring and
painting agree at any zoom.
"""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtGui import QFont, QFontMetricsF
from PySide6.QtWidgets import QApplication

from gradstudio.core.graph.model import Graph, GraphNode
from gradstudio.core.layout import (
    CLUSTER_KIND,
    cluster_node_id,
    repeat_key,
    repeated_runs,
    shape_text,
)
from gradstudio.core.layout.collapse import repeat_label

SEP = " · "


@dataclass
class Fonts:
    """The fonts and spacing of one presentation size."""

    label: QFont
    detail: QFont
    cluster: QFont
    badge: QFont
    pad_x: float
    pad_y: float
    line_gap: float
    line_width: float  # edges and borders scale with it

    @staticmethod
    def make(presentation: bool = False) -> "Fonts":
        family = QApplication.font().family() if QApplication.instance() else "DejaVu Sans"

        def font(px: int, weight=QFont.Weight.Normal, italic=False) -> QFont:
            f = QFont(family)
            f.setPixelSize(px)
            f.setWeight(weight)
            f.setItalic(italic)
            f.setHintingPreference(QFont.HintingPreference.PreferNoHinting)  # zoom-stable widths
            return f

        if presentation:
            # module labels may use the layout's padding above a box's content too (22 points)
            return Fonts(font(17, QFont.Weight.DemiBold), font(15), font(14, QFont.Weight.DemiBold),
                         font(12, QFont.Weight.Bold), 14.0, 7.0, 2.0, 2.0)
        # cluster labels must fit the layout's 14-point label band
        return Fonts(font(13, QFont.Weight.DemiBold), font(11), font(11, QFont.Weight.DemiBold),
                     font(9, QFont.Weight.Bold), 10.0, 5.0, 1.0, 1.3)


def op_text(op: str | None) -> str:
    """`__pow__` -> `pow`: the user-level call without dunder noise."""
    if not op:
        return ""
    return op.strip("_") or op


def node_lines(node: GraphNode, members: int | None = None) -> tuple[str, str]:
    """(label, detail) of a box.

    ops: `AddmmBackward0` / `linear · 2×10`; leaves and outputs: their name / shape;
    AccumulateGrad: the shape of the .grad it fills; folded modules: `path: Class` / `n nodes`.
    """
    shape = shape_text(node.shape)
    if node.kind == CLUSTER_KIND:
        n = f"{members} nodes" if members is not None else "module"
        return node.label, f"{n} · double-click to open"
    label = node.label or node.id
    if node.kind == "op":
        parts = [p for p in (op_text(node.op), shape) if p]
        return label, SEP.join(parts)
    return label, shape


def member_counts(graph: Graph) -> dict[str, int]:
    """Nodes inside each module and its sub-modules: the size a folded box stands for."""
    out = {p: sum(1 for i in c.nodes if i in graph.nodes) for p, c in graph.clusters.items()}
    for path, c in graph.clusters.items():
        n, seen, p = out_direct(graph, path), {path}, c.parent
        while p is not None and p in graph.clusters and p not in seen:  # add to every ancestor
            out[p] += n
            seen.add(p)
            p = graph.clusters[p].parent
    return out


def out_direct(graph: Graph, path: str) -> int:
    return sum(1 for i in graph.clusters[path].nodes if i in graph.nodes)


class Measurer:
    """Box sizes for every node a graph can show, folded module boxes included."""

    def __init__(self, fonts: Fonts):
        self.fonts = fonts
        self._fm_label = QFontMetricsF(fonts.label)
        self._fm_detail = QFontMetricsF(fonts.detail)
        self._sizes: dict[tuple[str, str], tuple[float, float]] = {}  # labels repeat a lot

    def size(self, label: str, detail: str) -> tuple[float, float]:
        hit = self._sizes.get((label, detail))
        if hit is None:
            hit = self._sizes[(label, detail)] = self._measure(label, detail)
        return hit

    def _measure(self, label: str, detail: str) -> tuple[float, float]:
        f = self.fonts
        w = self._fm_label.horizontalAdvance(label)
        h = self._fm_label.height() + 2 * f.pad_y
        if detail:
            w = max(w, self._fm_detail.horizontalAdvance(detail))
            h += f.line_gap + self._fm_detail.height()
        return (max(round(w + 2 * f.pad_x + 0.5), 48.0), float(round(h + 0.5)))

    def sizes(self, graph: Graph) -> dict[str, tuple[float, float]]:
        """node id -> (w, h) for `graph`'s nodes and a `cluster:<path>` box per module."""
        out = {nid: self.size(*node_lines(n)) for nid, n in graph.nodes.items()}
        counts = member_counts(graph)
        for path, c in graph.clusters.items():
            fake = GraphNode(id=cluster_node_id(path), kind=CLUSTER_KIND, label=c.label, key="")
            out[fake.id] = self.size(*node_lines(fake, counts[path]))
        for first, run in repeated_runs(graph).items():  # `Class × N` boxes
            label = repeat_label(graph.clusters[first], len(run))
            fake = GraphNode(id=cluster_node_id(repeat_key(first)), kind=CLUSTER_KIND, label=label, key="")
            out[fake.id] = self.size(*node_lines(fake, sum(counts[p] for p in run)))
        return out
