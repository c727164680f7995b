"""A static capture as a core `Graph`, so the graph panel draws it with the tape's look.

Plain Python and torch, no Qt: boxes for the captured ops (`s0`, `s1`, ... in the order of
`StaticCapture.ops`), for the parameters and inputs they read, and for the outputs. Edges
come from the captured program itself: an FX node's inputs for torch.export, a TorchScript
value's producer for torch.jit.trace. Nodes the capture leaves out of `ops` (`getitem`,
`size`, list packing) pass their inputs through. When the walk does not reproduce `ops`
exactly (a torch version spelling things differently), the ops are chained in order instead
and `approximate_edges` says so.

Module boxes follow the tape's rule: a module without sub-modules whose operations repeat
(a shared layer in a loop, an unrolled RNN cell) gets no box of its own.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..graph.build import enclosing_module
from ..graph.model import Cluster, Graph, GraphEdge, GraphNode
from .op_names import PYTHON_LEVEL, export_op_name, trace_op_name
from .static_capture import EXPORT, StaticCapture


def static_node_id(index: int) -> str:
    """The box of `static.ops[index]`."""
    return f"s{index}"


class StaticGraph(Graph):
    """A `Graph` of a static capture; `approximate_edges` when edges are the ops' order."""

    approximate_edges: bool = False


def static_graph(static: StaticCapture, module_classes: Mapping[str, str] | None = None) -> StaticGraph | None:
    """The drawing of a successful capture (None when it captured nothing).

    `module_classes` (module path -> class name, paths relative to the model) names the boxes.
    """
    if not static.ok:
        return None
    g = StaticGraph()
    for op in static.ops:
        shape = op.shapes[0] if op.shapes else None
        g.add_node(GraphNode(
            id=static_node_id(op.index), kind="op", label=op.target, key=f"{op.module or ''}/{op.target}#{op.index}",
            op=op.op, module=op.module, step=op.index, shape=shape, source=op.source,
        ))
    walk = _export_edges if static.method == EXPORT else _trace_edges
    try:
        found = walk(static, g)
    except Exception:  # an unexpected program structure: fall back to the order of ops
        found = False
    if not found:
        _chain(static, g)
    _add_clusters(g, dict(module_classes or {}), static)
    return g


# -- edges -------------------------------------------------------------------------------
class _Builder:
    """Leaves made on first use, edges without duplicates."""

    def __init__(self, g: StaticGraph):
        self.g = g
        self.seen: set[tuple[str, str]] = set()
        self.outputs = 0

    def leaf(self, kind: str, name: str, shape) -> str:
        nid = f"{kind}:{name}"
        if nid not in self.g.nodes:
            module = name.rpartition(".")[0] if kind == "parameter" else None
            self.g.add_node(GraphNode(id=nid, kind=kind, label=name, key=nid, module=module, step=0, shape=shape))
        return nid

    def edge(self, src: str, dst: str) -> None:
        if (src, dst) in self.seen or src == dst:
            return
        self.seen.add((src, dst))
        shape = self.g.nodes[src].shape
        step = max(self.g.nodes[src].step, self.g.nodes[dst].step)
        self.g.edges.append(GraphEdge(src=src, dst=dst, shape=shape, step=step))

    def output(self, sources: list[str]) -> None:
        for src in sources:
            oid = f"output:{self.outputs}"
            self.outputs += 1
            node = self.g.nodes[src]
            self.g.add_node(GraphNode(id=oid, kind="output", label="output", key=oid, step=node.step, shape=node.shape))
            self.edge(src, oid)


def _unique(ids) -> list[str]:
    return list(dict.fromkeys(ids))


def _tensor_shape(val) -> tuple | None:
    shape = getattr(val, "shape", None)
    try:
        return tuple(int(d) if isinstance(d, int) else str(d) for d in shape) if shape is not None else None
    except TypeError:
        return None


def _export_edges(static: StaticCapture, g: StaticGraph) -> bool:
    from torch.export.graph_signature import InputKind

    program = static.program
    specs = {getattr(s.arg, "name", None): s for s in program.graph_signature.input_specs}
    b = _Builder(g)
    sources: dict[object, list[str]] = {}
    index = 0
    for node in program.graph.nodes:
        if node.op == "placeholder":
            spec = specs.get(node.name)
            shape = _tensor_shape(node.meta.get("val"))
            if spec is not None and spec.kind in (InputKind.PARAMETER, InputKind.BUFFER):
                sources[node] = [("parameter", spec.target or node.name, shape)]
            else:
                sources[node] = [("input", node.name, shape)]
        elif node.op == "get_attr":
            sources[node] = [("parameter", str(node.target), None)]
        elif node.op == "call_function":
            ins = _unique(s for n in node.all_input_nodes for s in _resolve(b, sources.get(n, [])))
            if export_op_name(node.target) in PYTHON_LEVEL:
                sources[node] = ins
                continue
            if index >= len(static.ops) or static.ops[index].op != export_op_name(node.target):
                return False
            nid = static_node_id(index)
            for src in ins:
                b.edge(src, nid)
            sources[node] = [nid]
            index += 1
        elif node.op == "output":
            b.output(_unique(s for n in node.all_input_nodes for s in _resolve(b, sources.get(n, []))))
    return index == len(static.ops)


def _resolve(b: _Builder, items: list) -> list[str]:
    """Node ids for sources: a pending leaf (kind, name, shape) becomes a box when first used."""
    return [b.leaf(*item) if isinstance(item, tuple) else item for item in items]


def _trace_edges(static: StaticCapture, g: StaticGraph) -> bool:
    program = static.program
    graph = getattr(program, "inlined_graph", None) or program.graph
    b = _Builder(g)
    sources: dict[int, list] = {}
    attr_path: dict[int, str] = {}
    for k, value in enumerate(graph.inputs()):
        if k == 0 and value.type().kind() == "ClassType":  # the module itself
            attr_path[value.unique()] = ""
            continue
        sources[value.unique()] = [("input", value.debugName().split(".")[0], _trace_sizes(value))]
    index = 0
    for node in graph.nodes():
        kind = node.kind()
        outs = list(node.outputs())
        if kind == "prim::GetAttr":
            parent = attr_path.get(node.input().unique(), "")
            path = f"{parent}.{node.s('name')}".strip(".")
            for out in outs:
                attr_path[out.unique()] = path
                if out.type().kind() == "TensorType":
                    sources[out.unique()] = [("parameter", path, _trace_sizes(out))]
            continue
        if kind == "prim::Constant":
            continue
        ins = _unique(s for v in node.inputs() for s in _resolve(b, sources.get(v.unique(), [])))
        if not kind.startswith("aten::") or trace_op_name(kind) in PYTHON_LEVEL:
            for out in outs:
                sources[out.unique()] = ins
            continue
        if index >= len(static.ops) or static.ops[index].target != kind:
            return False
        nid = static_node_id(index)
        for src in ins:
            b.edge(src, nid)
        for out in outs:
            sources[out.unique()] = [nid]
        index += 1
    b.output(_unique(s for v in graph.outputs() for s in _resolve(b, sources.get(v.unique(), []))))
    return index == len(static.ops)


def _trace_sizes(value) -> tuple | None:
    try:
        sizes = value.type().sizes()
    except Exception:
        return None
    return tuple(sizes) if sizes is not None else None


def _chain(static: StaticCapture, g: StaticGraph) -> None:
    ops = {static_node_id(op.index) for op in static.ops}
    g.edges = []
    for nid in [n for n in g.nodes if n not in ops]:  # leaves a half-finished walk made
        del g.nodes[nid]
    b = _Builder(g)
    for op in static.ops[1:]:
        b.edge(static_node_id(op.index - 1), static_node_id(op.index))
    if static.ops:
        b.output([static_node_id(static.ops[-1].index)])
    g.approximate_edges = True


# -- module boxes ------------------------------------------------------------------------
def _repeats(keys: list[str]) -> bool:
    n = len(keys)
    return any(n % p == 0 and keys == keys[:p] * (n // p) for p in range(1, n // 2 + 1))


def _add_clusters(g: StaticGraph, classes: dict[str, str], static: StaticCapture) -> None:
    """Boxes for the modules that made ops, nested, in the order they first ran."""
    for op in static.ops:  # modules the caller did not name still get a box
        if op.module is not None and op.module not in classes:
            classes[op.module] = "module"
    has_children = {enclosing_module(p, classes) for p in classes}
    positions: dict[str, list[int]] = {}
    for op in static.ops:
        if op.module is not None:
            positions.setdefault(op.module, []).append(op.index)
    unboxed = set()
    for path, where in positions.items():
        if path in has_children:
            continue
        keys = [static.ops[i].key for i in where]
        if where[-1] - where[0] + 1 != len(where) or _repeats(keys):
            unboxed.add(path)

    def box_of(module: str | None) -> str | None:
        p = module
        while p is not None and (p in unboxed or p not in classes):
            p = enclosing_module(p, classes) if p in classes else None
        return p

    first: dict[str, int] = {}
    for n in g.nodes.values():
        p = box_of(n.module)
        while p is not None:
            first[p] = min(first.get(p, n.step), n.step)
            p = enclosing_module(p, classes)
    for path in sorted(first, key=lambda p: (first[p], p.count("."), p)):
        g.clusters[path] = Cluster(path=path, class_name=classes[path], parent=enclosing_module(path, classes))
    for c in g.clusters.values():
        if c.parent is not None and c.parent in g.clusters:
            g.clusters[c.parent].children.append(c.path)
    for n in g.nodes.values():
        p = box_of(n.module)
        if p is not None and p in g.clusters:
            g.clusters[p].nodes.append(n.id)


def relative_classes(module_classes: Mapping[str, str], model_path: str = "") -> dict[str, str]:
    """A tape's module classes with paths made relative to the model's own name."""
    if not model_path:
        return dict(module_classes)
    out = {}
    for path, cls in module_classes.items():
        if path == model_path:
            out[""] = cls
        elif path.startswith(model_path + "."):
            out[path[len(model_path) + 1:]] = cls
    return out

