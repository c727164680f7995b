"""Module boxes for the built-in layout: the bounding box of a module's nodes and of its
sub-modules' boxes, plus a margin and a band for the label, so boxes nest like modules."""

from __future__ import annotations

from ..graph.model import Graph
from .collapse import depths
from .model import Rect

PAD = 8.0
LABEL_BAND = 14.0


def cluster_rects(graph: Graph, node_rects: dict[str, Rect]) -> dict[str, Rect]:
    """path -> (x, y, w, h); modules without any laid-out node get no box."""
    depth = depths(graph)
    ext: dict[str, list[float]] = {}  # path -> [x0, y0, x1, y1]
    for path in sorted(graph.clusters, key=lambda p: -depth[p]):
        box = ext.get(path)
        for nid in graph.clusters[path].nodes:
            r = node_rects.get(nid)
            if r is not None:
                box = _union(box, [r[0], r[1], r[0] + r[2], r[1] + r[3]])
        if box is None:
            continue
        box = [box[0] - PAD, box[1] - PAD - LABEL_BAND, box[2] + PAD, box[3] + PAD]
        ext[path] = box
        parent = graph.clusters[path].parent
        if parent in graph.clusters:
            ext[parent] = _union(ext.get(parent), box)
    return {p: (b[0], b[1], b[2] - b[0], b[3] - b[1]) for p, b in ext.items()}


def _union(a: list[float] | None, b: list[float]) -> list[float]:
    if a is None:
        return list(b)
    return [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])]


def row_gaps(graph: Graph, row_of: dict[str, int], rows: int, least: float) -> list[float]:
    """Space between row r and r+1 (len rows - 1): at least `least`, more where module
    boxes close below row r or open above row r+1, so nested borders and labels fit."""
    depth = depths(graph)
    top: dict[str, int] = {}
    bottom: dict[str, int] = {}
    for path in sorted(graph.clusters, key=lambda p: -depth[p]):
        for nid in graph.clusters[path].nodes:
            r = row_of.get(nid)
            if r is not None:
                top[path] = min(top.get(path, r), r)
                bottom[path] = max(bottom.get(path, r), r)
        parent = graph.clusters[path].parent
        if path in top and parent in graph.clusters:
            top[parent] = min(top.get(parent, top[path]), top[path])
            bottom[parent] = max(bottom.get(parent, bottom[path]), bottom[path])
    opening: dict[str, int] = {}
    closing: dict[str, int] = {}
    above = [0.0] * rows  # room needed above each row
    below = [0.0] * rows
    for path in sorted(top, key=lambda p: depth[p]):
        parent = graph.clusters[path].parent
        opening[path] = 1 + (opening.get(parent, 0) if top.get(parent) == top[path] else 0)
        closing[path] = 1 + (closing.get(parent, 0) if bottom.get(parent) == bottom[path] else 0)
        above[top[path]] = max(above[top[path]], opening[path] * (PAD + LABEL_BAND))
        below[bottom[path]] = max(below[bottom[path]], closing[path] * PAD)
    return [max(least, below[r] + above[r + 1] + PAD) for r in range(rows - 1)]
