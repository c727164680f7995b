"""Order within rows (crossing reduction) and a first x per vertex, in units of one slot.

Input is a proper layered graph: every edge joins adjacent rows (long edges already cut
by dummy vertices). igraph's Sugiyama layout does this in C; without igraph, a few
barycentre sweeps in Python do a rougher job. We insert the dummies ourselves instead of
using igraph's `edge_routing`, which gives wrong points when rows are uneven (igraph 1.0).
"""

from __future__ import annotations

from .spread import spread


def unit_x(n: int, layer: list[int], edges: list[tuple[int, int]]) -> list[float]:
    """x per vertex in slots: adjacent vertices of a row at least 1 apart."""
    try:
        import igraph
    except ImportError:
        return _python_x(n, layer, edges)
    g = igraph.Graph(n=n, edges=edges, directed=True)
    maxiter = 100 if n < 5000 else 30  # crossing sweeps: most of the time on big graphs
    coords = g.layout_sugiyama(layers=layer, hgap=1, vgap=1, maxiter=maxiter).coords
    return [c[0] for c in coords[:n]]


def _python_x(n: int, layer: list[int], edges: list[tuple[int, int]], sweeps: int = 4) -> list[float]:
    up: list[list[int]] = [[] for _ in range(n)]
    down: list[list[int]] = [[] for _ in range(n)]
    for u, v in edges:
        up[v].append(u)
        down[u].append(v)
    rows: list[list[int]] = [[] for _ in range(max(layer, default=-1) + 1)]
    for v in range(n):
        rows[layer[v]].append(v)
    pos = [0.0] * n
    for row in rows:
        for i, v in enumerate(row):
            pos[v] = i

    def reorder(row: list[int], nbrs: list[list[int]]) -> None:
        row.sort(key=lambda v: sum(pos[u] for u in nbrs[v]) / len(nbrs[v]) if nbrs[v] else pos[v])
        for i, v in enumerate(row):
            pos[v] = i

    for _ in range(sweeps):
        for row in rows[1:]:
            reorder(row, up)
        for row in reversed(rows[:-1]):
            reorder(row, down)

    x = [0.0] * n

    def place(row: list[int], nbrs: list[list[int]], blend: bool) -> None:
        want = []
        for i, v in enumerate(row):
            if nbrs[v]:
                w = sum(x[u] for u in nbrs[v]) / len(nbrs[v])
                want.append((w + x[v]) / 2 if blend else w)
            else:
                want.append(x[v] if blend else i - (len(row) - 1) / 2)
        for v, xv in zip(row, spread(want, [1.0] * (len(row) - 1))):
            x[v] = xv

    for row in rows:
        place(row, up, blend=False)
    for row in reversed(rows[:-1]):
        place(row, down, blend=True)
    return x
