"""The graph a tape describes: nodes, edges with shapes, module clusters, gradients.

A `Graph` is plain data with stable string ids. Each node and edge knows the step that made
it and the backward steps that reached it, so `graph.at(k)` gives the state after any event
without re-recording.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ..capture.snapshot import TensorSnapshot
from ..capture.source import SourceLocation
from ..capture.tape import SavedTensorInfo

NODE_KINDS = ("op", "accumulate", "parameter", "input", "output", "cluster")  # cluster: a collapsed module


@dataclass
class GraphNode:
    """One box of the drawing: an autograd node, a leaf tensor, or an output tensor.

    Attributes:
        kind: "op" (a grad_fn), "accumulate" (AccumulateGrad), "parameter", "input", "output".
        label: grad_fn class name for ops (`AddmmBackward0`), the tensor's name for leaves.
        op: the user-level call that created it (`linear`, `__pow__`).
        step: index of the event that created it (-1: existed before recording).
        contributes: some output depends on it (False for e.g. the `sum` in `if x.sum() > 0`).
        key: matches the "same" node across two runs: module path, label, position in module.
        backward: (event index, gradient snapshot) for each time autograd ran it; for leaves,
            their `.grad` after each accumulation.
        freed_step: event index after which its saved tensors were released, if they were.
    """

    id: str
    kind: str
    label: str
    key: str
    op: str | None = None
    module: str | None = None
    step: int = 0
    shape: tuple | None = None
    contributes: bool = True
    source: SourceLocation | None = None
    saved: list[SavedTensorInfo] | None = None
    value: TensorSnapshot | None = None  # leaves: their value; ops: the forward output
    backward: list[tuple[int, TensorSnapshot | None]] = field(default_factory=list)
    freed_step: int | None = None
    # values over time when in-place writes changed them (first entry: the initial value)
    value_updates: list[tuple[int, TensorSnapshot]] = field(default_factory=list)

    @property
    def grad(self) -> TensorSnapshot | None:
        """The latest gradient: received by an op, or a leaf's accumulated `.grad`."""
        return self.backward[-1][1] if self.backward else None

    @property
    def executed(self) -> bool:
        return bool(self.backward)

    @property
    def freed(self) -> bool:
        return self.freed_step is not None

    @property
    def saved_bytes(self) -> int:
        return sum(s.nbytes for s in self.saved or () if not s.aliases_leaf)


@dataclass
class GraphEdge:
    """Data flows src -> dst in the forward pass; gradients flow back dst -> src."""

    src: str
    dst: str
    shape: tuple | None = None
    step: int = 0
    slot: int | None = None  # which of dst's inputs (its next_functions index), for op nodes
    backward: list[tuple[int, TensorSnapshot | None]] = field(default_factory=list)

    @property
    def grad(self) -> TensorSnapshot | None:
        return self.backward[-1][1] if self.backward else None


@dataclass
class Cluster:
    """A module as a box around the nodes created while it ran."""

    path: str
    class_name: str
    parent: str | None
    children: list[str] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)  # nodes created directly in this module
    first_step: int = -1  # the event that made its first node (its own or a sub-module's)

    @property
    def label(self) -> str:
        return f"{self.path or '(model)'}: {self.class_name}"


class Graph:
    """Nodes, edges and module clusters, optionally as of one step of the tape."""

    def __init__(self):
        self.nodes: dict[str, GraphNode] = {}
        self.edges: list[GraphEdge] = []
        self.clusters: dict[str, Cluster] = {}
        self.step: int | None = None  # None: the whole tape
        self._adj = None
        self._adj_for = None

    # -- queries -----------------------------------------------------------------------
    def add_node(self, node: GraphNode) -> GraphNode:
        self.nodes[node.id] = node
        return node

    def by_kind(self, kind: str) -> list[GraphNode]:
        return [n for n in self.nodes.values() if n.kind == kind]

    def by_label(self, label: str) -> list[GraphNode]:
        return [n for n in self.nodes.values() if n.label == label]

    def _adjacency(self):
        if self._adj is None or self._adj_for != len(self.edges):
            ins: dict[str, list[GraphEdge]] = {}
            outs: dict[str, list[GraphEdge]] = {}
            for e in self.edges:
                ins.setdefault(e.dst, []).append(e)
                outs.setdefault(e.src, []).append(e)
            self._adj, self._adj_for = (ins, outs), len(self.edges)
        return self._adj

    def inputs_of(self, node_id: str) -> list[GraphEdge]:
        """Edges into a node (index built once, rebuilt if edges were added)."""
        return self._adjacency()[0].get(node_id, [])

    def outputs_of(self, node_id: str) -> list[GraphEdge]:
        return self._adjacency()[1].get(node_id, [])

    @property
    def saved_bytes(self) -> int:
        """Bytes autograd holds for backward (buffers shared by several nodes counted once;
        parameters and inputs, which exist anyway, not counted); freed nodes hold nothing."""
        return self.saved_bytes_at(None)

    def saved_bytes_at(self, step: int | None) -> int:
        """`at(step).saved_bytes` without building that graph: stepping through a long tape
        asks for it at every key press, and `at` copies every node."""
        seen, total = set(), 0
        for n in self.nodes.values():
            if step is not None and n.step > step:
                continue
            freed = n.freed_step
            if freed is not None and (step is None or freed <= step):
                continue
            for s in n.saved or ():
                if s.aliases_leaf or s.nbytes == 0:
                    continue
                key = s.storage_key or (n.id, s.name)
                if key not in seen:
                    seen.add(key)
                    total += s.nbytes
        return total

    def cluster_of(self, node_id: str) -> Cluster | None:
        module = self.nodes[node_id].module
        return self.clusters.get(module) if module is not None else None

    # -- time travel -------------------------------------------------------------------
    def at(self, step: int) -> "Graph":
        """The graph as it was right after event `step`: nodes created so far, gradients
        computed so far, buffers freed so far."""
        g = Graph()
        g.step = step
        for n in self.nodes.values():
            if n.step <= step:
                g.nodes[n.id] = _node_as_of(n, step)
        for e in self.edges:
            if e.src in g.nodes and e.dst in g.nodes:
                f = copy.copy(e)
                f.backward = [b for b in e.backward if b[0] <= step]
                g.edges.append(f)
        ran = {path for path, c in self.clusters.items() if c.first_step <= step}  # modules run by then
        for path, c in self.clusters.items():
            if path in ran:
                g.clusters[path] = Cluster(
                    c.path, c.class_name, c.parent, [p for p in c.children if p in ran],
                    [i for i in c.nodes if i in g.nodes], c.first_step,
                )
        return g

    def node_at(self, node_id: str, step: int) -> GraphNode | None:
        """One node as `at(step)` has it (None if not created by then), without copying the
        rest of the graph: the inspector asks at every step of a long tape."""
        n = self.nodes.get(node_id)
        return None if n is None or n.step > step else _node_as_of(n, step)

    def edges_at(self, node_id: str, step: int) -> tuple[list[GraphEdge], list[GraphEdge]]:
        """Edges into and out of a node whose other end exists after `step` (as in
        `at(step)`, but not copied: their gradients are the whole tape's)."""
        def made(other: str) -> bool:
            return self.nodes[other].step <= step

        return (
            [e for e in self.inputs_of(node_id) if made(e.src)],
            [e for e in self.outputs_of(node_id) if made(e.dst)],
        )

    def __repr__(self) -> str:
        kinds = {k: len(self.by_kind(k)) for k in NODE_KINDS}
        at = "" if self.step is None else f" at step {self.step}"
        return f"Graph({len(self.nodes)} nodes {kinds}, {len(self.edges)} edges, {len(self.clusters)} clusters{at})"


def _node_as_of(n: GraphNode, step: int) -> GraphNode:
    """A copy of `n` with the gradients, freeing and value updates of events up to `step`."""
    m = copy.copy(n)
    m.backward = [b for b in n.backward if b[0] <= step]
    m.freed_step = n.freed_step if n.freed_step is not None and n.freed_step <= step else None
    if n.value_updates:  # e.g. parameters after optimizer.step()
        m.value_updates = [u for u in n.value_updates if u[0] <= step]
        if m.value_updates:
            m.value = m.value_updates[-1][1]
    return m
