"""What the inspector says about a node: plain functions of the Session and Graph, testable without Qt."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from gradstudio.core.capture import BackwardNodeEvent, BackwardStartEvent, CallEvent, LeafGradEvent
from gradstudio.core.layout.model import join_dims

KIND_TEXT = {
    "op": "operation (grad_fn)",
    "accumulate": "gradient accumulator for a leaf",
    "parameter": "parameter (leaf)",
    "input": "input tensor (leaf)",
    "output": "output tensor",
}


@dataclass
class Focus:
    """The node the inspector shows, and why."""

    node_id: str | None
    following_step: bool  # nothing selected: the current event's node
    others: list[str] = field(default_factory=list)  # other nodes the same event created


def focus(session) -> Focus:
    """The selected node, or else the node the current event made or reached."""
    if session.selected is not None:
        return Focus(session.selected, False)
    ev = session.current_event
    graph = session.graph
    if ev is None or graph is None:
        return Focus(None, True)
    if isinstance(ev, CallEvent):
        ids = [i for i in ev.nodes if i in graph.nodes]
        ops = [i for i in ids if graph.nodes[i].kind == "op"]
        ids = ops + [i for i in ids if i not in ops]  # the op first, its AccumulateGrads after
        return Focus(ids[0] if ids else None, True, ids[1:])
    if isinstance(ev, BackwardNodeEvent):
        return Focus(ev.node, True)
    if isinstance(ev, LeafGradEvent):
        return Focus(ev.leaf, True)
    if isinstance(ev, BackwardStartEvent) and ev.roots:
        return Focus(ev.roots[0], True)
    return Focus(None, True)


def format_bytes(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    for unit in ("KB", "MB", "GB"):
        n /= 1024
        if n < 1024 or unit == "GB":
            return f"{n:.1f} {unit}"
    return ""  # unreachable


def memory_text(graph, step: int | None = None) -> str:
    """The status-bar line: what autograd holds for backward in the graph after `step`
    (the whole graph's state when None)."""
    if graph is None:
        return ""
    return f"graph holds {format_bytes(graph.saved_bytes_at(step))} for backward"


def shape_text(shape) -> str:
    if shape is None:
        return "?"
    return join_dims(shape) if len(shape) else "scalar"


def fmt_number(x) -> str:
    if isinstance(x, int):
        return str(x)
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:.6g}"


def node_name(graph, node_id: str) -> str:
    """How to call a node next to an edge: an AccumulateGrad by the leaf it feeds."""
    node = graph.nodes.get(node_id)
    if node is None:
        return node_id
    if node.kind == "accumulate":
        leaf = next((e.src for e in graph.inputs_of(node_id)), None)
        if leaf is not None and leaf in graph.nodes:
            return f"{graph.nodes[leaf].label} (AccumulateGrad)"
    return node.label


def edges_text(graph, node_id: str, step: int | None = None) -> tuple[list[str], list[str]]:
    """'name: shape' for each edge into the node and out of it (those whose other end
    exists after `step`; all when None)."""
    if step is None:
        into, out_of = graph.inputs_of(node_id), graph.outputs_of(node_id)
    else:
        into, out_of = graph.edges_at(node_id, step)
    ins = [f"{node_name(graph, e.src)}: {shape_text(e.shape)}" for e in into]
    outs = [f"{node_name(graph, e.dst)}: {shape_text(e.shape)}" for e in out_of]
    return ins, outs


@dataclass
class SavedRow:
    name: str
    shape: str
    dtype: str
    size: str
    note: str


def saved_rows(node, tape) -> list[SavedRow]:
    """The tensors autograd keeps on the node for its backward, then its small values."""
    leaves = {l.storage_key: l.name for l in tape.leaves.values() if l.storage_key is not None} if tape else {}
    rows = []
    for s in sorted(node.saved or (), key=lambda s: s.shape is None and not s.packed):
        if s.packed:
            rows.append(SavedRow(s.name, "", "", "", "packed by a hook, not read"))
            continue
        if s.shape is None:
            rows.append(SavedRow(s.name, s.value or "", "", "", "not a tensor"))
            continue
        note = ""
        if s.aliases_leaf:
            owner = leaves.get(s.storage_key)
            note = f"= {owner}, not counted" if owner else "a leaf's memory, not counted"
        rows.append(SavedRow(s.name, shape_text(s.shape), s.dtype or "", format_bytes(s.nbytes), note))
    return rows


def value_of(graph, node):
    """The forward value to show: an AccumulateGrad shows its leaf's."""
    if node.value is None and node.kind == "accumulate":
        leaf = next((e.src for e in graph.inputs_of(node.id)), None)
        if leaf is not None and leaf in graph.nodes:
            return graph.nodes[leaf].value
    return node.value


def gradient_at(node_at, full_node, step: int):
    """(snapshot or None, caption): the gradient as of `step`, or why there is none."""
    if node_at is not None and node_at.backward:
        index, snap = node_at.backward[-1]
        passes = len(node_at.backward)
        what = "accumulated .grad" if full_node.kind in ("parameter", "input") else "gradient received"
        caption = f"{what} at step {index + 1}" + (f" (backward run {passes})" if passes > 1 else "")
        if snap is None:
            return None, caption + ": None"
        return snap, caption
    later = [k for k, _ in full_node.backward if k > step]
    if later:
        return None, f"no gradient yet: backward reaches this node at step {later[0] + 1}"
    if not full_node.contributes:
        return None, "no gradient: no output depends on this node"
    return None, "no gradient: no backward pass reached this node"
