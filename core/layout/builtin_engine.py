"""The layout that needs no system program: rows from the data flow, order from igraph's
Sugiyama layout (or plain Python), then real box sizes so nothing overlaps.

Fast enough for 20,000 nodes in a few seconds. Module boxes are drawn around their nodes
afterwards, so unlike dot's clusters they may overlap unrelated nodes.
"""

from __future__ import annotations

from statistics import median

from ..graph.model import Graph
from .boxes import cluster_rects, row_gaps
from .layering import assign_layers, module_minlen
from .model import Layout, Point, edge_keys
from .ordering import unit_x
from .spread import spread

NODESEP = 18.0  # points between boxes in a row
RANKSEP = 36.0  # points between rows
MARGIN = 8.0


def builtin_layout(graph: Graph, sizes: dict[str, tuple[float, float]]) -> Layout:
    ids = list(graph.nodes)
    index = {nid: i for i, nid in enumerate(ids)}
    n = len(ids)
    keys, pairs, kept = [], [], []
    for key, e in zip(edge_keys(graph.edges), graph.edges):
        if e.src in index and e.dst in index:
            keys.append(key)
            pairs.append((index[e.src], index[e.dst]))
            kept.append(e)
    layer = assign_layers(n, pairs, module_minlen(graph, kept))
    vlayer, steps, chains = _cut_long_edges(layer, pairs)
    ux = unit_x(len(vlayer), vlayer, steps)

    rows: list[list[int]] = [[] for _ in range(max(vlayer, default=-1) + 1)]
    for v, lay in enumerate(vlayer):
        rows[lay].append(v)
    row_h = [max((sizes[ids[v]][1] for v in row if v < n), default=0.0) for row in rows]
    gaps_y = row_gaps(graph, {nid: layer[i] for i, nid in enumerate(ids)}, len(rows), RANKSEP)
    row_y, y = [], 0.0
    for h, gap in zip(row_h, gaps_y + [0.0]):
        row_y.append(y + h / 2)
        y += h + gap
    x = _row_x(rows, ux, [sizes[i][0] for i in ids] + [0.0] * (len(vlayer) - n), n)

    lay_out = Layout(edge_style="polyline", engine="builtin")
    for i, nid in enumerate(ids):
        lay_out.positions[nid] = (x[i], row_y[layer[i]])
        lay_out.sizes[nid] = sizes[nid]
    for key, (u, v), chain in zip(keys, pairs, chains):
        lay_out.edges[key] = _route(lay_out, ids[u], ids[v], [(x[d], row_y[vlayer[d]]) for d in chain])
    rects = {nid: lay_out.node_rect(nid) for nid in ids}
    lay_out.clusters = cluster_rects(graph, rects)
    bx, by, bw, bh = _bbox(list(rects.values()) + list(lay_out.clusters.values()))
    _translate(lay_out, -bx, -by)
    lay_out.bbox = (0.0, 0.0, bw, bh)
    return lay_out


def _cut_long_edges(layer: list[int], pairs: list[tuple[int, int]]):
    """Dummy vertices (numbered after the nodes) on every row a long edge crosses, so all
    steps join adjacent rows. Returns row per vertex, the steps, and per edge its dummies
    top to bottom (edges going up, from breaking a cycle, are cut bottom to top)."""
    vlayer = list(layer)
    steps: list[tuple[int, int]] = []
    chains: list[list[int]] = []
    for u, v in pairs:
        a, b = (u, v) if layer[u] <= layer[v] else (v, u)
        chain: list[int] = []
        if layer[a] < layer[b]:
            prev = a
            for row in range(layer[a] + 1, layer[b]):
                vlayer.append(row)
                chain.append(len(vlayer) - 1)
                steps.append((prev, chain[-1]))
                prev = chain[-1]
            steps.append((prev, b))
        chains.append(chain)
    return vlayer, steps, chains


def _row_x(rows: list[list[int]], ux: list[float], widths: list[float], n: int) -> list[float]:
    """Slots scaled by a typical box width, then spread apart by the real widths (dummies,
    index >= n, are points that keep half the usual gap)."""
    unit = (median(widths[:n]) if n else 0.0) + NODESEP
    x = [0.0] * len(ux)
    for row in rows:
        row.sort(key=lambda v: ux[v])
        gaps = [
            (widths[a] + widths[b]) / 2 + (NODESEP if a < n and b < n else NODESEP / 2)
            for a, b in zip(row, row[1:])
        ]
        for v, xv in zip(row, spread([ux[v] * unit for v in row], gaps)):
            x[v] = xv
    return x


def _route(lay: Layout, src: str, dst: str, via: list[Point]) -> list[Point]:
    """Border of src -> dummies -> border of dst; dummies come top to bottom."""
    (sx, sy), (_, sh) = lay.positions[src], lay.sizes[src]
    (dx, dy), (dw, dh) = lay.positions[dst], lay.sizes[dst]
    if src == dst:  # a loop on the right side
        sw = lay.sizes[src][0]
        return [(sx + sw / 2, sy - sh / 4), (sx + sw / 2 + 12, sy), (sx + sw / 2, sy + sh / 4)]
    if sy < dy:
        return [(sx, sy + sh / 2), *via, (dx, dy - dh / 2)]
    if sy > dy:
        return [(sx, sy - sh / 2), *reversed(via), (dx, dy + dh / 2)]
    side = 1 if dx < sx else -1  # same row (only when breaking a cycle)
    return [(sx - side * lay.sizes[src][0] / 2, sy), (dx + side * dw / 2, dy)]


def _bbox(rects) -> tuple[float, float, float, float]:
    if not rects:
        return (0.0, 0.0, 0.0, 0.0)
    x0 = min(r[0] for r in rects)
    y0 = min(r[1] for r in rects)
    x1 = max(r[0] + r[2] for r in rects)
    y1 = max(r[1] + r[3] for r in rects)
    return (x0 - MARGIN, y0 - MARGIN, x1 - x0 + 2 * MARGIN, y1 - y0 + 2 * MARGIN)


def _translate(lay: Layout, dx: float, dy: float) -> None:
    """Move everything so the bounding box starts at (0, 0), like dot's."""
    lay.positions = {k: (x + dx, y + dy) for k, (x, y) in lay.positions.items()}
    lay.edges = {k: [(x + dx, y + dy) for x, y in pts] for k, pts in lay.edges.items()}
    lay.clusters = {k: (x + dx, y + dy, w, h) for k, (x, y, w, h) in lay.clusters.items()}
