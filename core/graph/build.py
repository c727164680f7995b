"""Turn a tape into a `Graph`: one pass over nodes, leaves, outputs, then backward events."""

from __future__ import annotations

from collections import defaultdict

from ..capture.events import (
    BackwardEndEvent,
    BackwardNodeEvent,
    BackwardStartEvent,
    CallEvent,
    LeafGradEvent,
)
from ..capture.tape import Tape
from ..gcpause import gc_paused
from .model import Cluster, Graph, GraphEdge, GraphNode


def build_graph(tape: Tape) -> Graph:
    with gc_paused():
        return _build(tape)


def _build(tape: Tape) -> Graph:
    g = Graph()
    creator: dict[str, CallEvent] = {}
    output_value = {}
    for ev in tape.events:
        if isinstance(ev, CallEvent):
            for nid in ev.nodes:
                creator[nid] = ev
            for nid, snap in zip(ev.output_nodes, ev.outputs):
                if nid is not None and nid not in output_value:
                    output_value[nid] = snap

    _add_leaves(g, tape)
    slot_edges = _add_autograd_nodes(g, tape, creator, output_value)
    output_edges = _add_outputs(g, tape)
    _apply_backward(g, tape, slot_edges, output_edges)
    _mark_contributing(g)
    _add_clusters(g, tape)
    return g


def _add_leaves(g: Graph, tape: Tape) -> None:
    for leaf in tape.leaves.values():
        ev = tape.events[leaf.step] if 0 <= leaf.step < len(tape.events) else None
        g.add_node(
            GraphNode(
                id=leaf.id,
                kind=leaf.kind,
                label=leaf.name,
                key=f"{leaf.kind}:{leaf.name}",
                module=leaf.module,
                step=leaf.step,
                shape=leaf.shape,
                value=leaf.value_at(len(tape.events)),  # the latest; `at(step)` picks older ones
                value_updates=[(leaf.step, leaf.value)] + list(leaf.updates) if leaf.updates else [],
                source=getattr(ev, "source", None),
            )
        )


class _PassCreator:
    """A backward pass with `create_graph=True` builds nodes of its own (double backward):
    they are shown as made by the call that ran the pass, on its line."""

    def __init__(self, start: BackwardStartEvent):
        self.op = start.api
        self.source = start.source


def _pass_creators(tape: Tape) -> dict[int, _PassCreator]:
    """Index of each backward pass's end event -> the pass, as the creator of its nodes."""
    starts = {e.pass_index: e for e in tape.events if isinstance(e, BackwardStartEvent)}
    return {
        e.index: _PassCreator(starts[e.pass_index])
        for e in tape.events
        if isinstance(e, BackwardEndEvent) and e.pass_index in starts
    }


def _add_autograd_nodes(g, tape, creator, output_value) -> dict:
    ordinals: dict[tuple, int] = defaultdict(int)
    slot_edges: dict[tuple[str, int], GraphEdge] = {}
    passes = _pass_creators(tape)
    for info in tape.nodes.values():
        ev = creator.get(info.id) or passes.get(info.step)
        module = info.module
        if info.is_accumulate:  # one per leaf: known by its leaf, wherever it appears
            leaf = tape.leaves[info.leaf]
            module = leaf.module
            key = f"{g.nodes[leaf.id].key}/{info.name}"
        else:
            k = ordinals[(module, info.name)]
            ordinals[(module, info.name)] += 1
            key = f"{module or ''}/{info.name}#{k}"
        node = GraphNode(
            id=info.id,
            kind="accumulate" if info.is_accumulate else "op",
            label=info.name,
            key=key,
            op=ev.op if ev else None,
            module=module,
            step=info.step,
            shape=info.output_shapes[0] if info.output_shapes else None,
            source=ev.source if ev else None,
            saved=info.saved,
            value=output_value.get(info.id),
        )
        g.add_node(node)
        if info.is_accumulate:
            leaf = tape.leaves[info.leaf]
            g.edges.append(GraphEdge(src=leaf.id, dst=info.id, shape=leaf.shape, step=info.step))
    for info in tape.nodes.values():
        for src, shape, slot, nr in info.inputs:
            edge = GraphEdge(src=src, dst=info.id, shape=shape, step=info.step, slot=slot)
            g.edges.append(edge)
            slot_edges[(info.id, slot)] = (edge, nr)
    return slot_edges


def _add_outputs(g: Graph, tape: Tape) -> dict:
    output_edges: dict[str, list[GraphEdge]] = defaultdict(list)
    for k, out in enumerate(tape.outputs):
        producer = g.nodes.get(out.node)
        if producer is None:
            continue
        oid = f"o{k}"
        g.add_node(
            GraphNode(
                id=oid,
                kind="output",
                label=out.name,
                key=f"output:{out.name}",
                module=None,
                step=producer.step,
                shape=out.shape,
                source=producer.source,
                value=producer.value,
            )
        )
        edge = GraphEdge(src=out.node, dst=oid, shape=out.shape, step=producer.step)
        g.edges.append(edge)
        output_edges[out.node].append(edge)
    return output_edges


def _apply_backward(g, tape, slot_edges, output_edges) -> None:
    executed_in_pass: dict[int, list[str]] = defaultdict(list)
    leaf_edges = {e.dst: e for e in g.edges if g.nodes[e.src].kind in ("parameter", "input")}
    received: dict[tuple[int, str], list] = {}  # (pass, node) -> grads it received
    deferred = []  # edges whose gradient is what their producer received
    for ev in tape.events:
        if isinstance(ev, BackwardNodeEvent):
            node = g.nodes.get(ev.node)
            if node is None:
                continue
            received[(ev.pass_index, ev.node)] = ev.grads_received
            first = ev.grads_received[0] if ev.grads_received else None
            node.backward.append((ev.index, first))
            executed_in_pass[ev.pass_index].append(ev.node)
            for slot, sent in enumerate(ev.grads_sent):
                found = slot_edges.get((ev.node, slot))
                if found is None:
                    continue
                edge, nr = found
                if slot in ev.sent_as_received:
                    deferred.append((edge, ev.index, ev.pass_index, nr))
                else:
                    edge.backward.append((ev.index, sent))
            if ev.node in leaf_edges:
                leaf_edges[ev.node].backward.append((ev.index, first))
            for edge in output_edges.get(ev.node, ()):
                edge.backward.append((ev.index, first))
                g.nodes[edge.dst].backward.append((ev.index, first))
        elif isinstance(ev, LeafGradEvent):
            leaf = g.nodes.get(ev.leaf)
            if leaf is not None:
                leaf.backward.append((ev.index, ev.grad))
        elif isinstance(ev, BackwardEndEvent) and ev.ok and ev.freed:
            for nid in executed_in_pass.get(ev.pass_index, ()):
                # AccumulateGrad saves nothing and lives on with its leaf: never freed
                if g.nodes[nid].kind == "op" and g.nodes[nid].freed_step is None:
                    g.nodes[nid].freed_step = ev.index
    for edge, index, pass_index, nr in deferred:
        grads = received.get((pass_index, edge.src))
        edge.backward.append((index, grads[nr] if grads and nr < len(grads) else None))
    for edge in g.edges:
        edge.backward.sort(key=lambda b: b[0])


def _mark_contributing(g: Graph) -> None:
    outputs = [n.id for n in g.nodes.values() if n.kind == "output"]
    if not outputs:
        return
    incoming: dict[str, list[str]] = defaultdict(list)
    for e in g.edges:
        incoming[e.dst].append(e.src)
    reached = set(outputs)
    stack = list(outputs)
    while stack:
        for src in incoming.get(stack.pop(), ()):
            if src not in reached:
                reached.add(src)
                stack.append(src)
    for n in g.nodes.values():
        n.contributes = n.id in reached


def _add_clusters(g: Graph, tape: Tape) -> None:
    """One box per module that made nodes, nested like the modules.

    A module without sub-modules that ran more than once within one call of its parent (a
    shared layer applied in a loop, an RNN cell unrolled, one ReLU used twice) gets no box
    of its own: one box around all its calls would cut through the code between them. Its
    nodes sit in the enclosing box (their `module` still names it).
    """
    classes = tape.module_classes
    calls: dict[str, set] = defaultdict(set)
    for info in tape.nodes.values():
        if info.module is not None and info.module_call is not None and not info.is_accumulate:
            calls[info.module].add(info.module_call)
    has_children = {enclosing_module(p, classes) for p in classes}
    # more than once within one call of its parent; the same layer in the next training
    # step (another call of the model) keeps its box
    module_calls = tape.module_calls
    unboxed = {
        p for p, c in calls.items()
        if p not in has_children and len(c) > len({module_calls[i].parent for i in c})
    }
    used: set[str] = set()
    for n in g.nodes.values():
        p = n.module
        while p is not None and p in unboxed:
            p = enclosing_module(p, classes)
        if p is not None and p in classes:
            used.add(p)
    # every ancestor of a used module is shown too, so the boxes nest
    paths = set()
    for path in used:
        p = path
        while p is not None and p not in paths:
            paths.add(p)
            p = enclosing_module(p, classes)
    # children in the order the modules first made a node, like the code runs
    first_step: dict[str, int] = {}
    for n in g.nodes.values():
        p = _box_of(n.module, g, paths, classes)
        while p is not None:
            if n.step < first_step.get(p, 1 << 62):
                first_step[p] = n.step
            p = enclosing_module(p, classes)
    for path in sorted(paths, key=lambda p: (first_step.get(p, 1 << 62), p.count("."), p)):
        g.clusters[path] = Cluster(
            path=path, class_name=classes[path], parent=enclosing_module(path, classes),
            first_step=first_step.get(path, -1),
        )
    for c in g.clusters.values():
        if c.parent is not None and c.parent in g.clusters:
            g.clusters[c.parent].children.append(c.path)
    for n in g.nodes.values():
        box = _box_of(n.module, g, g.clusters, classes)
        if box is not None:
            g.clusters[box].nodes.append(n.id)


def _box_of(module: str | None, g: Graph, boxes, classes: dict) -> str | None:
    """The innermost drawn box for a module path (itself, or an ancestor if it has none)."""
    p = module
    while p is not None and p not in boxes:
        p = enclosing_module(p, classes) if p in classes else None
    return p


def enclosing_module(path: str, classes: dict) -> str | None:
    """The nearest module path above `path` that is one of `classes` ("" is the root)."""
    if path == "":
        return None
    p = path
    while "." in p:
        p = p.rpartition(".")[0]
        if p in classes:
            return p
    return "" if "" in classes else None
