"""What the scene will draw, computed off the GUI thread next to the layout.

For every node, edge and module box: its geometry, its text, and the events at which its
look changes (appears, becomes the current node, receives a gradient, is freed). All those
events go into one sorted index, so moving from step a to step b only looks at the items
with a change point in (a, b] — a few items per step, whatever the graph's size.

Only value types of QtGui (QPainterPath, QPolygonF) are used here: they are safe to build on
a worker thread.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from html import escape

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainterPath, QPolygonF

from gradstudio.core.gcpause import gc_paused
from gradstudio.core.graph.model import Graph
from gradstudio.core.layout import CLUSTER_KIND, Layout, edge_keys, shape_text
from gradstudio.core.layout.collapse import depths, folded_paths

from .colors import norm_range
from .text import node_lines

HIDDEN_NODE = (False, False, -1, False)
HIDDEN_EDGE = (False, -1, False)
HIDDEN_CLUSTER = (False, False)


def _norm(snap) -> float | None:
    if snap is None:
        return None
    try:
        return float(snap.stats.norm)
    except Exception:  # a stale snapshot: no numbers left
        return math.nan


def _has(sorted_list: list[int], k: int) -> bool:
    i = bisect_left(sorted_list, k)
    return i < len(sorted_list) and sorted_list[i] == k


@dataclass
class NodeSpec:
    id: str
    kind: str
    label: str
    detail: str
    rect: tuple  # x, y, w, h (top-left)
    step: int  # event that created it
    active: list = field(default_factory=list)  # events at which it is the current node
    grad_steps: list = field(default_factory=list)  # events after which it holds a new gradient
    grad_norms: list = field(default_factory=list)
    freed_step: int | None = None
    contributes: bool = True
    op: str | None = None
    module: str | None = None

    @property
    def tooltip(self) -> str:
        """Written when first shown: building it for every node up front cost a third of the plan."""
        return _tooltip(self, self.label, self.detail)

    def state(self, k: int) -> tuple:
        """(visible, current, index of the latest gradient or -1, freed) after event k."""
        if k < self.step:
            return HIDDEN_NODE
        return (
            True,
            _has(self.active, k),
            bisect_right(self.grad_steps, k) - 1,
            self.freed_step is not None and self.freed_step <= k,
        )

    def change_points(self):
        yield self.step
        for a in self.active:
            yield a
            yield a + 1
        yield from self.grad_steps
        if self.freed_step is not None:
            yield self.freed_step


@dataclass
class EdgeSpec:
    key: tuple
    src: str
    dst: str
    step: int
    path: QPainterPath
    arrow: QPolygonF
    shape: str = ""
    contributes: bool = True  # leads to an output (False: into a node that does not)
    grad_steps: list = field(default_factory=list)  # events that sent a gradient along it
    grad_norms: list = field(default_factory=list)

    def state(self, k: int) -> tuple:
        """(visible, index of the latest gradient or -1, a gradient flows at this event)."""
        if k < self.step:
            return HIDDEN_EDGE
        return (True, bisect_right(self.grad_steps, k) - 1, _has(self.grad_steps, k))

    def change_points(self):
        yield self.step
        for g in self.grad_steps:
            yield g
            yield g + 1


@dataclass
class ClusterSpec:
    path: str
    label: str
    rect: tuple
    depth: int
    step: int  # first event with a node of it on screen
    active: list = field(default_factory=list)  # events whose current node is directly inside

    def state(self, k: int) -> tuple:
        if k < self.step:
            return HIDDEN_CLUSTER
        return (True, _has(self.active, k))

    def change_points(self):
        yield self.step
        for a in self.active:
            yield a
            yield a + 1


class ChangeIndex:
    """All items' change points in one sorted array; items are numbered nodes, edges, then
    clusters."""

    def __init__(self, specs: list):
        points: list[int] = []
        items: list[int] = []
        for i, s in enumerate(specs):
            mine = set(s.change_points())
            points.extend(mine)
            items.extend([i] * len(mine))
        order = sorted(range(len(points)), key=points.__getitem__)  # one key sort, no tuples
        self.points = [points[j] for j in order]
        self.items = [items[j] for j in order]

    def between(self, a: int, b: int) -> set[int]:
        """Items whose state may differ between step a and step b."""
        lo, hi = (a, b) if a <= b else (b, a)
        return set(self.items[bisect_right(self.points, lo):bisect_right(self.points, hi)])

    def count_between(self, a: int, b: int) -> int:
        lo, hi = (a, b) if a <= b else (b, a)
        return bisect_right(self.points, hi) - bisect_right(self.points, lo)


@dataclass
class ScenePlan:
    nodes: list[NodeSpec]
    edges: list[EdgeSpec]
    clusters: list[ClusterSpec]
    lo: float  # gradient norms of the whole tape, for the colour scale
    hi: float
    has_grads: bool
    owner: dict  # node id of the full graph -> id of the box showing it
    bbox: tuple
    engine: str
    edge_style: str
    fallback_reason: str | None
    layout_seconds: float
    collapsed: frozenset
    parents: dict = field(default_factory=dict)  # module path -> parent path
    index: ChangeIndex = None

    @property
    def specs(self) -> list:
        return [*self.nodes, *self.edges, *self.clusters]

    def node_index(self) -> dict[str, int]:
        return {s.id: i for i, s in enumerate(self.nodes)}


# -- geometry ------------------------------------------------------------------------------
def edge_path(points, style: str) -> QPainterPath:
    """Cubic Beziers (dot) or a polyline with rounded corners (built-in layout)."""
    path = QPainterPath()
    if not points:
        return path
    path.moveTo(*points[0])
    if style == "bezier" and len(points) >= 4 and (len(points) - 1) % 3 == 0:
        for i in range(1, len(points) - 2, 3):
            path.cubicTo(QPointF(*points[i]), QPointF(*points[i + 1]), QPointF(*points[i + 2]))
        return path
    if len(points) <= 2:
        for p in points[1:]:
            path.lineTo(*p)
        return path
    # through the midpoints, bending at each corner: smooth, and still ends on the border
    mids = [((a[0] + b[0]) / 2, (a[1] + b[1]) / 2) for a, b in zip(points, points[1:])]
    path.lineTo(*mids[0])
    for corner, mid in zip(points[1:-1], mids[1:]):
        path.quadTo(QPointF(*corner), QPointF(*mid))
    path.lineTo(*points[-1])
    return path


def arrow_head(points, size: float) -> QPolygonF:
    """A triangle with its tip on the last point, along the last segment."""
    if len(points) < 2:
        return QPolygonF()
    tip = points[-1]
    tx, ty = tip
    for base in reversed(points[:-1]):  # the last point apart from the tip sets the direction
        dx, dy = tx - base[0], ty - base[1]
        if abs(dx) > 1e-3 or abs(dy) > 1e-3:
            break
    d = math.hypot(dx, dy) or 1.0
    ux, uy = dx / d, dy / d
    bx, by = tip[0] - ux * size, tip[1] - uy * size
    half = size * 0.45
    return QPolygonF([
        QPointF(*tip), QPointF(bx - uy * half, by + ux * half), QPointF(bx + uy * half, by - ux * half)
    ])


# -- building ------------------------------------------------------------------------------
def build_plan(full: Graph, shown: Graph, layout: Layout, *, arrow: float = 7.0) -> ScenePlan:
    """The plan for `shown` (= collapse(full, layout.collapsed)) laid out by `layout`."""
    with gc_paused():
        return _build_plan(full, shown, layout, arrow=arrow)


def _build_plan(full: Graph, shown: Graph, layout: Layout, *, arrow: float = 7.0) -> ScenePlan:
    """The plan for `shown` (= collapse(full, layout.collapsed)) laid out by `layout`.
    Gradient ranges come from `full`, so folding a module never changes the colour scale."""
    owner = {nid: nid for nid in shown.nodes}
    members: dict[str, list] = {}
    for nid, n in shown.nodes.items():
        if n.kind == CLUSTER_KIND:
            path = nid[len("cluster:"):]
            members[nid] = [full.nodes[i] for p in folded_paths(full, path)
                            for i in full.clusters[p].nodes if i in full.nodes]
            for m in members[nid]:
                owner[m.id] = nid

    norms = [_norm(s) for n in full.nodes.values() for _, s in n.backward]
    norms += [_norm(s) for e in full.edges for _, s in e.backward]
    lo, hi = norm_range(norms)

    nodes: list[NodeSpec] = []
    for nid, n in shown.nodes.items():
        if nid not in layout.positions:
            continue
        if n.kind == CLUSTER_KIND:
            ms = members[nid]
            label, detail = node_lines(n, len(ms))
            active = sorted({m.step for m in ms} | {b[0] for m in ms for b in m.backward})
            by_step: dict[int, float | None] = {}
            for m in ms:
                for i, s in m.backward:
                    v = _norm(s)
                    old = by_step.get(i)
                    by_step[i] = v if old is None or (v is not None and v > old) else old
            grad_steps = sorted(by_step)
            grad_norms = [by_step[i] for i in grad_steps]
            freed_step = _all_freed(ms)
        else:
            label, detail = node_lines(n)
            active = sorted({n.step} | {b[0] for b in n.backward})
            grad_steps = [b[0] for b in n.backward]
            grad_norms = [_norm(b[1]) for b in n.backward]
            freed_step = n.freed_step
        nodes.append(NodeSpec(
            id=nid, kind=n.kind, label=label, detail=detail, rect=layout.node_rect(nid),
            step=n.step, active=active, grad_steps=grad_steps, grad_norms=grad_norms,
            freed_step=freed_step, contributes=n.contributes, op=n.op, module=n.module,
        ))
    step_of = {s.id: s.step for s in nodes}
    contributes = {s.id: s.contributes for s in nodes}

    edges: list[EdgeSpec] = []
    for key, e in zip(edge_keys(shown.edges), shown.edges):
        pts = layout.edges.get(key)
        if not pts or e.src not in step_of or e.dst not in step_of:
            continue
        edges.append(EdgeSpec(
            key=key, src=e.src, dst=e.dst, step=max(e.step, step_of[e.src], step_of[e.dst]),
            path=edge_path(pts, layout.edge_style), arrow=arrow_head(pts, arrow),
            shape=shape_text(e.shape), contributes=contributes[e.src] and contributes[e.dst], grad_steps=[b[0] for b in e.backward],
            grad_norms=[_norm(b[1]) for b in e.backward],
        ))

    depth = depths(shown)
    first: dict[str, int] = {}
    active_of: dict[str, set] = {}
    for s in nodes:
        path = s.module if s.module in shown.clusters else None
        if path is not None:
            active_of.setdefault(path, set()).update(s.active)
        while path is not None and path in shown.clusters:
            first[path] = min(first.get(path, s.step), s.step)
            path = shown.clusters[path].parent
    clusters = [
        ClusterSpec(path=p, label=c.label, rect=layout.clusters[p], depth=depth.get(p, 0),
                    step=first.get(p, 0), active=sorted(active_of.get(p, ())))
        for p, c in shown.clusters.items() if p in layout.clusters
    ]
    plan = ScenePlan(
        nodes=nodes, edges=edges, clusters=clusters, lo=lo, hi=hi,
        has_grads=any(v is not None for v in norms), owner=owner, bbox=layout.bbox,
        engine=layout.engine, edge_style=layout.edge_style, fallback_reason=layout.fallback_reason,
        layout_seconds=layout.seconds, collapsed=frozenset(layout.collapsed),
        parents={p: c.parent for p, c in shown.clusters.items()},
    )
    plan.index = ChangeIndex(plan.specs)
    return plan


def _all_freed(members) -> int | None:
    """A folded module counts as freed once every node in it that saves tensors is."""
    holders = [m for m in members if m.kind in ("op", "accumulate")]
    if not holders or any(m.freed_step is None for m in holders):
        return None
    return max(m.freed_step for m in holders)


def _tooltip(n, label: str, detail: str) -> str:
    lines = [f"<b>{escape(label)}</b>"]
    if detail:
        lines.append(escape(detail))
    if n.kind != CLUSTER_KIND:
        lines.append(f"{n.kind} · id {escape(n.id)}")
    if n.module:
        lines.append(f"module: {escape(n.module)}")
    if not n.contributes:
        lines.append("<i>does not contribute to any output</i>")
    return "<br>".join(lines)
