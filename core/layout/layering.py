"""Rows: which row each node goes in (built-in layout), and how many rows an edge into
another module must span (both engines).

Longest path from the leaves puts every parameter in row 0, far above the op that uses it
deep in the network, which makes huge fans of long edges. So after the longest-path pass,
nodes with at least as many outgoing as incoming edges sink down to just above their
earliest consumer (what dot's network simplex does for leaves, in linear time).
"""

from __future__ import annotations

from collections import deque


def topological_order(n: int, edges: list[tuple[int, int]]) -> list[int]:
    """Kahn's order; on a cycle, releases the lowest-numbered waiting node so it never
    stalls (autograd graphs have no cycles, but a hand-made Graph might)."""
    succ: list[list[int]] = [[] for _ in range(n)]
    indeg = [0] * n
    for u, v in edges:
        if u != v:
            succ[u].append(v)
            indeg[v] += 1
    queue = deque(i for i in range(n) if indeg[i] == 0)
    done = [False] * n
    order: list[int] = []
    nxt = 0
    while len(order) < n:
        if not queue:
            while done[nxt]:
                nxt += 1
            queue.append(nxt)
            indeg[nxt] = 0
        u = queue.popleft()
        if done[u]:
            continue
        done[u] = True
        order.append(u)
        for v in succ[u]:
            indeg[v] -= 1
            if indeg[v] == 0 and not done[v]:
                queue.append(v)
    return order


def assign_layers(n: int, edges: list[tuple[int, int]], minlen: list[int] | None = None) -> list[int]:
    """Row per node, rows from 0; every edge that goes forward in topological order goes
    down by at least its `minlen` (default 1) rows."""
    order = topological_order(n, edges)
    pos = [0] * n
    for i, u in enumerate(order):
        pos[u] = i
    preds: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    succs: list[list[tuple[int, int]]] = [[] for _ in range(n)]
    for i, (u, v) in enumerate(edges):
        if pos[u] < pos[v]:
            k = minlen[i] if minlen else 1
            preds[v].append((u, k))
            succs[u].append((v, k))
    layer = [0] * n
    for v in order:
        if preds[v]:
            layer[v] = max(layer[u] + k for u, k in preds[v])
    for v in reversed(order):
        if succs[v] and len(succs[v]) >= len(preds[v]):
            layer[v] = max(layer[v], min(layer[s] - k for s, k in succs[v]))
    low = min(layer, default=0)
    return [x - low for x in layer] if low else layer


LEAF_KINDS = ("parameter", "input", "accumulate")


def module_minlen(graph, edges) -> list[int]:
    """Rows each edge must span: an edge that enters another module box at an op fed by
    leaves (parameter -> AccumulateGrad -> op) leaves room for those leaves above the op,
    so consecutive module boxes stack instead of sharing rows (which makes dot set them
    side by side in a staircase, and makes built-in boxes overlap)."""
    home = {nid: path for path, c in graph.clusters.items() for nid in c.nodes}
    kind = {nid: n.kind for nid, n in graph.nodes.items()}
    leaf_preds: dict[str, list[str]] = {}
    for e in edges:
        if kind.get(e.src) in LEAF_KINDS and home.get(e.src) == home.get(e.dst):
            leaf_preds.setdefault(e.dst, []).append(e.src)
    chain: dict[str, int] = {}

    def leaf_chain(nid: str, depth: int = 0) -> int:  # longest leaf chain ending above nid
        if nid not in chain:
            preds = leaf_preds.get(nid, ()) if depth < 8 else ()
            chain[nid] = max((leaf_chain(p, depth + 1) + 1 for p in preds), default=0)
        return chain[nid]

    return [
        1 + leaf_chain(e.dst)
        if home.get(e.src) != home.get(e.dst) and kind.get(e.src) not in LEAF_KINDS
        else 1
        for e in edges
    ]
