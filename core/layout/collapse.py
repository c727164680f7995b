"""Folding module boxes into single nodes, so big models stay readable.

Layout and drawing both work on `collapse(graph, collapsed)`, so they agree on which nodes
exist. A collapsed cluster becomes a node `cluster:<path>` of kind "cluster" inside the
parent module; edges to the outside are rerouted to it (kept one per original edge, with
their shape and gradients), edges inside it are dropped.
"""

from __future__ import annotations

import copy

from ..graph.model import Cluster, Graph, GraphNode

CLUSTER_KIND = "cluster"


def cluster_node_id(path: str) -> str:
    return f"cluster:{path}"


def subtree(graph: Graph, path: str) -> list[str]:
    """The cluster and all clusters below it."""
    out, stack = [], [path]
    while stack:
        p = stack.pop()
        if p in graph.clusters:
            out.append(p)
            stack.extend(graph.clusters[p].children)
    return out


def depths(graph: Graph) -> dict[str, int]:
    """Module-tree depth of each cluster: roots (the model itself) are 0."""
    out: dict[str, int] = {}
    for path in graph.clusters:
        chain, p = [], path
        while p is not None and p in graph.clusters and p not in out:
            chain.append(p)
            p = graph.clusters[p].parent
        d = out[p] + 1 if p in out else 0
        for q in reversed(chain):
            out[q] = d
            d += 1
    return out


REPEAT_PREFIX = "repeat:"


def repeated_runs(graph: Graph) -> dict[str, list[str]]:
    """Runs of sibling modules of one class applied one after another (`blocks.0`,
    `blocks.1`, `blocks.2` of a Sequential): first path -> all paths of the run."""
    runs: dict[str, list[str]] = {}
    for c in graph.clusters.values():
        run: list[str] = []
        for child in c.children + [None]:
            same = (
                child is not None and run
                and graph.clusters[child].class_name == graph.clusters[run[-1]].class_name
            )
            if same:
                run.append(child)
                continue
            if len(run) > 1:
                runs[run[0]] = run
            run = [child] if child is not None else []
    return runs


def repeat_label(first: Cluster, repeats: int) -> str:
    """`stages.0.blocks: ResidualBlock × 3`: the container's path, the class, the count."""
    return f"{first.path.rpartition('.')[0] or first.path}: {first.class_name} × {repeats}"


def repeat_key(first_path: str) -> str:
    """The `collapsed` entry that folds the run starting at `first_path` into one `× N` box."""
    return REPEAT_PREFIX + first_path


def folded_paths(graph: Graph, entry: str) -> list[str]:
    """Every cluster path a `collapsed` entry hides: a module and its sub-modules, or, for
    `repeat:<path>`, each module of that run and their sub-modules."""
    if entry.startswith(REPEAT_PREFIX):
        firsts = repeated_runs(graph).get(entry[len(REPEAT_PREFIX):], [])
    else:
        firsts = [entry] if entry in graph.clusters else []
    return [p for first in firsts for p in subtree(graph, first)]


def collapse(graph: Graph, collapsed) -> Graph:
    """A new Graph where each cluster in `collapsed` (and everything below it) is one node.

    An entry `repeat:<path>` folds the whole run of same-class siblings starting at <path>
    into one node labelled `Class × N`. Paths that are not clusters, or lie inside another
    collapsed cluster, are ignored. Nodes and edges that survive are shared with `graph`.
    """
    collapsed = set(collapsed)
    runs = repeated_runs(graph) if any(p.startswith(REPEAT_PREFIX) for p in collapsed) else {}
    groups: dict[str, list[str]] = {}  # collapsed entry -> cluster paths it folds
    for entry in collapsed:
        if entry.startswith(REPEAT_PREFIX) and entry[len(REPEAT_PREFIX):] in runs:
            groups[entry] = runs[entry[len(REPEAT_PREFIX):]]
        elif entry in graph.clusters:
            groups[entry] = [entry]
    if not groups:
        return graph
    covered = {p for paths in groups.values() for p in paths}
    owner: dict[str, str] = {}  # node id -> id of the cluster node replacing it
    hidden: set[str] = set()  # cluster paths that disappear
    tops = [e for e, paths in groups.items() if not any(_has_collapsed_ancestor(graph, p, covered) for p in paths)]
    members: dict[str, list[GraphNode]] = {}
    for top in tops:
        cid = cluster_node_id(top)
        members[top] = []
        for path in groups[top]:
            for p in subtree(graph, path):
                hidden.add(p)
                for nid in graph.clusters[p].nodes:
                    if nid in graph.nodes:
                        owner[nid] = cid
                        members[top].append(graph.nodes[nid])

    g = Graph()
    g.step = graph.step
    placed: set[str] = set()
    for nid, n in graph.nodes.items():
        cid = owner.get(nid)
        if cid is None:
            g.nodes[nid] = n
        elif cid not in placed:  # the cluster node takes the place of its first member
            placed.add(cid)
            top = cid[len("cluster:"):]
            paths = groups[top]
            g.nodes[cid] = _cluster_node(graph.clusters[paths[0]], members[top], top, len(paths))
    for e in graph.edges:
        src, dst = owner.get(e.src, e.src), owner.get(e.dst, e.dst)
        if src == dst and (e.src in owner or e.dst in owner):
            continue  # inside one collapsed cluster
        if src == e.src and dst == e.dst:
            g.edges.append(e)
        else:
            f = copy.copy(e)
            f.src, f.dst = src, dst
            g.edges.append(f)
    for path, c in graph.clusters.items():
        if path in hidden:
            continue
        nodes = list(c.nodes) + [cluster_node_id(t) for t in tops if graph.clusters[groups[t][0]].parent == path]
        g.clusters[path] = Cluster(
            c.path, c.class_name, c.parent, [ch for ch in c.children if ch not in hidden],
            [i for i in nodes if i in g.nodes],
        )
    return g


def _has_collapsed_ancestor(graph: Graph, path: str, collapsed: set) -> bool:
    p = graph.clusters[path].parent
    while p is not None and p in graph.clusters:
        if p in collapsed:
            return True
        p = graph.clusters[p].parent
    return False


def _cluster_node(c: Cluster, members: list[GraphNode], entry: str | None = None, repeats: int = 1) -> GraphNode:
    """One box standing for a whole module (or a run of `repeats` alike modules): it appears
    with its first node and counts as run backward whenever any of its nodes did."""
    backward = sorted({b[0] for n in members for b in n.backward})
    entry = entry or c.path
    label = c.label if repeats == 1 else repeat_label(c, repeats)
    return GraphNode(
        id=cluster_node_id(entry),
        kind=CLUSTER_KIND,
        label=label,
        key=f"cluster:{entry}",
        op=c.class_name,
        module=c.parent,
        step=min((n.step for n in members), default=0),
        shape=None,
        contributes=any(n.contributes for n in members),
        backward=[(i, None) for i in backward],
    )


def default_collapsed(graph: Graph, max_nodes: int = 300) -> frozenset:
    """The clusters to collapse so at most `max_nodes` nodes show, keeping as much detail
    as fits: all clusters at the deepest module depth D for which folding everything
    deeper than D-1 fits. Nothing if the graph already fits; the most folded view (the
    root modules) if nothing fits."""
    if len(graph.nodes) <= max_nodes or not graph.clusters:
        return frozenset()
    depth = depths(graph)
    count = {p: sum(1 for i in c.nodes if i in graph.nodes) for p, c in graph.clusters.items()}
    loose = len(graph.nodes) - sum(count.values())

    def ancestor_at(path: str, d: int) -> str:
        while depth[path] > d:
            path = graph.clusters[path].parent
        return path

    best = frozenset()
    for d in range(max(depth.values()), -1, -1):
        shown = loose + sum(n for p, n in count.items() if depth[p] < d)
        best = frozenset(ancestor_at(p, d) for p, n in count.items() if n and depth[p] >= d)
        if shown + len(best) <= max_nodes:
            break
    return best
