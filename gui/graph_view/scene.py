"""The whole recording as one QGraphicsScene: built once per layout, then stepped.

`set_step(k)` shows what existed after event k — nodes, edges and module boxes created so
far, the gradients computed so far, the buffers freed so far — and glows the node(s) of
event k. It is incremental: the plan's change index names the few items whose look differs
between the old and the new step, and only those are touched.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass
from html import escape

from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QGraphicsItem, QGraphicsScene, QToolTip

from gradstudio.core.gcpause import gc_paused
from gradstudio.core.graph.model import Graph
from gradstudio.core.layout import Layout, collapse

from .cluster_item import ClusterItem
from .edge_item import EdgeItem
from .node_item import NodeItem
from .plan import ScenePlan, build_plan
from .style import SceneStyle
from .text import Fonts
from .tooltips import edge_tooltip, node_tooltip

SCENE_MARGIN = 40.0
CACHE_MAX_NODES = 1500  # past this, per-item pixmap caches cost more memory than they save


def short_label(path: str, label: str, parents: dict) -> str:
    """`net.stage1.blocks.0: ResidualBlock` inside `net.stage1.blocks` -> `0: ResidualBlock`."""
    parent = parents.get(path)
    if parent and path.startswith(parent + "."):
        return label[len(parent) + 1:]
    return label


@dataclass(frozen=True)
class Legend:
    """The gradient colour scale: norms from lo to hi on a log scale."""

    lo: float
    hi: float
    has_grads: bool

    def ticks(self, most: int = 5) -> list[float]:
        """Powers of ten inside [lo, hi] (at most `most`), plus the ends."""
        if not self.has_grads or self.hi <= 0:
            return []
        a, b = math.ceil(math.log10(self.lo)), math.floor(math.log10(self.hi))
        step = max(1, math.ceil((b - a + 1) / most))
        out = [10.0 ** e for e in range(a, b + 1, step)]
        return out


class GraphScene(QGraphicsScene):
    """Items for every node, edge and module box of a plan; call `set_step` to step."""

    sig_step_applied = Signal(int)
    """set_step finished at this step (the minimap redraws)."""
    sig_look_changed = Signal()
    """Theme, selection or search marks changed."""

    def __init__(self, plan: ScenePlan, *, theme: str = "light", fonts: Fonts | None = None, parent=None):
        super().__init__(parent)
        self.plan = plan
        self.style = SceneStyle(theme, fonts, plan.lo, plan.hi)
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple, EdgeItem] = {}
        self.clusters: dict[str, ClusterItem] = {}
        self._items: list = []  # parallel to plan.specs
        with gc_paused():
            self._add_items(plan)
        self._specs = plan.specs
        self._n_nodes = len(plan.nodes)
        x, y, w, h = plan.bbox
        self.setSceneRect(QRectF(x - SCENE_MARGIN, y - SCENE_MARGIN, w + 2 * SCENE_MARGIN, h + 2 * SCENE_MARGIN))
        self.setBackgroundBrush(QBrush(self.style.background))
        self.step: int | None = None
        self._current: set[int] = set()
        self.selected: str | None = None
        self._search: set[str] = set()
        self.last_touched = 0  # items looked at by the latest set_step
        self.visible_count = 0  # node boxes shown
        self.token = None  # the owner's name for what this scene shows
        self.overlays: list[QGraphicsItem] = []  # e.g. the laser pointer: not part of figures

    def _add_items(self, plan: ScenePlan) -> None:
        cache = len(plan.nodes) <= CACHE_MAX_NODES
        for spec in plan.nodes:
            item = NodeItem(spec, self.style)
            if cache:
                item.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
            self.nodes[spec.id] = item
            self._items.append(item)
        for spec in plan.edges:
            item = EdgeItem(spec, self.style)
            self.edges[spec.key] = item
            self._items.append(item)
        for spec in plan.clusters:
            item = ClusterItem(spec, self.style, short_label(spec.path, spec.label, plan.parents))
            self.clusters[spec.path] = item
            self._items.append(item)
        for item in self._items:
            self.addItem(item)
        for item in self.clusters.values():
            self.addItem(item.label_item)

    @classmethod
    def from_layout(cls, graph: Graph, layout: Layout, *, theme: str = "light",
                    fonts: Fonts | None = None, parent=None) -> "GraphScene":
        """Convenience for scripts and tests (the panel builds the plan on a worker)."""
        shown = collapse(graph, layout.collapsed)
        return cls(build_plan(graph, shown, layout), theme=theme, fonts=fonts, parent=parent)

    # -- stepping ------------------------------------------------------------------------
    def set_step(self, k: int) -> int:
        """Show the state after event k; returns how many items were looked at."""
        k = int(k)
        if k == self.step:
            self.last_touched = 0
            return 0
        index = self.plan.index
        if self.step is None or index.count_between(self.step, k) > len(self._items) // 2:
            changed = range(len(self._items))
        else:
            changed = index.between(self.step, k)
        specs, items, n_nodes, current = self._specs, self._items, self._n_nodes, self._current
        visible = self.visible_count
        for i in changed:
            state = specs[i].state(k)
            item = items[i]
            if i < n_nodes:
                visible += state[0] - item.state[0]
                if state[1]:
                    current.add(i)
                else:
                    current.discard(i)
            item.apply(state)
        self.visible_count = visible
        self.step = k
        self.last_touched = len(changed)
        self.sig_step_applied.emit(k)
        return self.last_touched

    @property
    def node_items(self) -> dict[str, NodeItem]:
        """Alias of `nodes` (node id -> NodeItem)."""
        return self.nodes

    def current_nodes(self) -> list[str]:
        """Boxes of the current event: the node(s) it created, or the node it ran backward."""
        return [self._items[i].spec.id for i in sorted(self._current)]

    def visible_nodes(self) -> list[str]:
        return [nid for nid, it in self.nodes.items() if it.state[0]]

    def node_for(self, node_id: str | None) -> NodeItem | None:
        """The box showing a node of the full graph (its folded module's box if folded)."""
        if node_id is None:
            return None
        return self.nodes.get(self.plan.owner.get(node_id, node_id))

    @property
    def legend(self) -> Legend:
        return Legend(self.plan.lo, self.plan.hi, self.plan.has_grads)

    # -- marks ---------------------------------------------------------------------------
    def set_selected(self, node_id: str | None) -> None:
        old = self.node_for(self.selected)
        if old is not None:
            old.set_selected(False)
        self.selected = node_id
        item = self.node_for(node_id)
        if item is not None:
            item.set_selected(True)
        self.sig_look_changed.emit()

    def set_new_nodes(self, ids) -> None:
        """Mark the nodes only this run has (Run again compares with the previous run)."""
        ids = set(ids)
        for nid, item in self.nodes.items():
            item.set_new(nid in ids)

    def set_search_hits(self, ids) -> None:
        for nid in self._search:
            if nid in self.nodes:
                self.nodes[nid].set_search_hit(False)
        self._search = {i for i in ids if i in self.nodes}
        for nid in self._search:
            self.nodes[nid].set_search_hit(True)

    def set_theme(self, name: str) -> None:
        self.style.set_theme(name)
        self.setBackgroundBrush(QBrush(self.style.background))
        self._invalidate_items()

    def set_fonts(self, fonts: Fonts) -> None:
        """Same geometry, other fonts and line widths (the panel re-lays out when sizes change)."""
        self.style.set_fonts(fonts)
        self._invalidate_items()

    def _invalidate_items(self) -> None:
        for item in self._items:  # also drops their cached pixmaps
            item.update()
        self.update()
        self.sig_look_changed.emit()

    # -- tooltips: written when shown, so they tell the gradient at the current step -----
    def tooltip_at(self, pos) -> str:
        for item in self.items(pos):
            if not item.isVisible():
                continue
            if isinstance(item, NodeItem):
                return node_tooltip(item)
            if isinstance(item, EdgeItem):
                return edge_tooltip(item, self.nodes)
            if isinstance(item, ClusterItem):
                return f"<b>{escape(item.spec.label)}</b><br><i>double-click to fold</i>"
        return ""

    def helpEvent(self, event) -> None:
        text = self.tooltip_at(event.scenePos())
        if text:
            QToolTip.showText(event.screenPos(), text)
        else:
            QToolTip.hideText()
        event.setAccepted(bool(text))

    # -- search --------------------------------------------------------------------------
    def find(self, text: str) -> list[str]:
        """Ids of boxes whose label, op, module or id contains `text` (case-insensitive):
        visible ones first, each group in the order they were created."""
        t = text.strip().lower()
        if not t:
            return []
        hits = [
            s for s in self.plan.nodes
            if t in s.label.lower() or t in (s.op or "").lower() or t in (s.module or "").lower()
            or t == s.id.lower()
        ]
        hits.sort(key=lambda s: (not self.nodes[s.id].state[0], s.step))
        return [s.id for s in hits]

    # -- overview and export helpers ----------------------------------------------------
    def minimap_shapes(self) -> tuple[list[tuple[QColor, list[QRectF]]], list[QRectF]]:
        """Visible node boxes grouped by fill colour, and the top-level module boxes."""
        groups: dict[str, list[QRectF]] = {}
        for it in self.nodes.values():
            if it.state[0]:
                x, y, w, h = it.spec.rect
                groups.setdefault(it.spec.kind, []).append(QRectF(x, y, w, h))
        fills = [(self.style.kind_fill.get(k, self.style.kind_fill["op"]).color(), r) for k, r in groups.items()]
        boxes = [QRectF(*c.spec.rect) for c in self.clusters.values() if c.state[0] and c.spec.depth == 0]
        return fills, boxes

    def visible_rect(self) -> QRectF:
        """Around everything shown at the current step (the export frame)."""
        r = QRectF()
        for it in list(self.nodes.values()) + list(self.clusters.values()):
            if it.state[0]:
                r = r.united(it.sceneBoundingRect())
        return r.adjusted(-12, -12, 12, 12) if not r.isEmpty() else self.sceneRect()

    @contextmanager
    def without_overlays(self, keep: bool = False):
        """Hide overlay items (the laser pointer) while a figure is rendered, unless `keep`."""
        hidden = [] if keep else [it for it in self.overlays if it.isVisible()]
        for it in hidden:
            it.setVisible(False)
        try:
            yield
        finally:
            for it in hidden:
                it.setVisible(True)

    @contextmanager
    def uncached(self):
        """Paint items directly (vector output: SVG must get text, not cached pixmaps)."""
        saved = [(it, it.cacheMode()) for it in self.nodes.values() if it.cacheMode() != QGraphicsItem.CacheMode.NoCache]
        for it, _ in saved:
            it.setCacheMode(QGraphicsItem.CacheMode.NoCache)
        try:
            yield
        finally:
            for it, mode in saved:
                it.setCacheMode(mode)
