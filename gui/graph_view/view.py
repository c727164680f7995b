"""The graph on screen: drag to pan, wheel or +/- to zoom (about the mouse), F to fit,
click a node to select it, double-click a module box to fold or unfold it, a minimap when
the graph is bigger than the window, search, and export.

Items take no mouse events themselves: the view hit-tests, so a drag that starts on a node
or a module box still pans.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeySequence, QPainter, QTransform
from PySide6.QtWidgets import QApplication, QFrame, QGraphicsView

from gradstudio.core.layout import CLUSTER_KIND

from . import export
from .cluster_item import ClusterItem
from .colors import theme
from .minimap import Minimap
from .node_item import NodeItem
from .scene import GraphScene

ZOOM_MIN, ZOOM_MAX = 0.02, 8.0
ZOOM_STEP = 1.25  # per key press / wheel notch
FIRST_ZOOM_MAX = 1.75  # small graphs are shown big, for the back row
READABLE = 0.6  # the smallest zoom at which a graph is shown first (smaller: no text)
READABLE_PRESENTING = 0.95  # on a projector, read from the back of the room


class GraphView(QGraphicsView):
    sig_node_clicked = Signal(object)
    """A node box was clicked (its id), or the empty background (None)."""
    sig_cluster_activated = Signal(str)
    """A module box or folded-module node was double-clicked: fold/unfold this path."""
    sig_zoom_changed = Signal(float)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRenderHints(
            QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
            | QPainter.RenderHint.SmoothPixmapTransform
        )
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontSavePainterState, True)
        self.setCacheMode(QGraphicsView.CacheModeFlag.CacheBackground)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._press: QPointF | None = None
        self.presentation = False  # frame graphs for the back row (set by the panel)
        self.minimap = Minimap(self)

    # -- scene ---------------------------------------------------------------------------
    def graph_scene(self) -> GraphScene | None:
        s = self.scene()
        return s if isinstance(s, GraphScene) else None

    def set_graph_scene(self, scene: GraphScene | None, keep_view: bool = False) -> None:
        """Show `scene`; keep zoom and centre (re-layout after folding) or frame it anew."""
        old = self.graph_scene()
        if old is not None:
            for sig in (old.sig_step_applied, old.sig_look_changed):
                try:
                    sig.disconnect(self.minimap.invalidate)
                except (RuntimeError, TypeError):
                    pass
        center = self.mapToScene(self.viewport().rect().center()) if keep_view else None
        self.setScene(scene)
        if scene is None:
            self.minimap.hide()
            return
        scene.sig_step_applied.connect(self.minimap.invalidate)
        scene.sig_look_changed.connect(self.minimap.invalidate)
        if center is not None:
            self.centerOn(center)
        else:
            self.frame()
        self.minimap.invalidate()
        self.minimap.relayout()

    def set_theme(self, name: str) -> None:
        """The background outside the scene, and the scene's own colours."""
        scene = self.graph_scene()
        if scene is not None and scene.style.theme.name != name:
            scene.set_theme(name)
        self.setBackgroundBrush(QColor(theme(name).background))
        self.resetCachedContent()
        self.viewport().update()

    # -- zoom ----------------------------------------------------------------------------
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, z: float) -> None:
        z = min(max(z, ZOOM_MIN), ZOOM_MAX)
        self.setTransform(QTransform.fromScale(z, z))
        self._zoomed()

    def zoom_by(self, factor: float) -> None:
        z = self.zoom()
        factor = min(max(z * factor, ZOOM_MIN), ZOOM_MAX) / z
        if abs(factor - 1) > 1e-6:
            self.scale(factor, factor)
            self._zoomed()

    def _zoomed(self) -> None:
        self.minimap.relayout()
        self.sig_zoom_changed.emit(self.zoom())

    def fit(self) -> None:
        """The whole graph in the window (F)."""
        scene = self.scene()
        if scene is None:
            return
        self.fitInView(scene.sceneRect(), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom() > 1.5:
            self.set_zoom(1.5)
        self._zoomed()

    def frame(self, focus: list[str] | None = None) -> None:
        """First look at a graph: fit it if that keeps text readable, otherwise show it at
        a readable zoom around `focus` (e.g. the current node) or its top."""
        scene = self.graph_scene()
        if scene is None:
            return
        r = scene.sceneRect()
        vp = self.viewport().rect()
        fit = min(vp.width() / max(r.width(), 1), vp.height() / max(r.height(), 1)) * 0.98
        if fit >= (READABLE_PRESENTING if self.presentation else READABLE):
            self.set_zoom(min(fit, FIRST_ZOOM_MAX))
            self.centerOn(r.center())
            return
        self.set_zoom(1.0)
        target = self._focus_rect(focus or scene.current_nodes())
        self.centerOn(target.center() if target is not None else QPointF(r.center().x(), r.top()))

    # -- keys, wheel, mouse --------------------------------------------------------------
    def wheelEvent(self, event) -> None:
        delta = event.angleDelta().y() or event.angleDelta().x()
        if delta:
            self.zoom_by(ZOOM_STEP ** (delta / 120))
        event.accept()

    def keyPressEvent(self, event) -> None:
        key, text = event.key(), event.text()
        anchor = self.transformationAnchor()
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        try:
            if text in ("+", "=") or event.matches(QKeySequence.StandardKey.ZoomIn):
                self.zoom_by(ZOOM_STEP)
            elif text in ("-", "_") or event.matches(QKeySequence.StandardKey.ZoomOut):
                self.zoom_by(1 / ZOOM_STEP)
            elif key == Qt.Key.Key_F:
                self.fit()
            elif key == Qt.Key.Key_0:
                self.set_zoom(1.0)
            else:
                super().keyPressEvent(event)
                return
        finally:
            self.setTransformationAnchor(anchor)
        event.accept()

    def mousePressEvent(self, event) -> None:
        self._press = event.position() if event.button() == Qt.MouseButton.LeftButton else None
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event) -> None:
        super().mouseReleaseEvent(event)
        if self._press is None or event.button() != Qt.MouseButton.LeftButton:
            return
        moved = (event.position() - self._press).manhattanLength()
        self._press = None
        if moved <= QApplication.startDragDistance():
            node = self.node_at(event.position().toPoint())
            self.sig_node_clicked.emit(node.node_id if node is not None else None)

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return super().mouseDoubleClickEvent(event)
        pos = event.position().toPoint()
        node = self.node_at(pos)
        if node is not None:
            if node.spec.kind == CLUSTER_KIND:
                self.sig_cluster_activated.emit(node.node_id[len("cluster:"):])
        else:
            cluster = self.cluster_at(pos)
            if cluster is not None:
                self.sig_cluster_activated.emit(cluster.path)
        event.accept()

    def node_at(self, pos) -> NodeItem | None:
        for item in self.items(pos):
            if isinstance(item, NodeItem) and item.isVisible():
                return item
        return None

    def cluster_at(self, pos) -> ClusterItem | None:
        """The innermost visible module box under `pos`."""
        best = None
        for item in self.items(pos):
            if isinstance(item, ClusterItem) and item.isVisible():
                if best is None or item.spec.depth > best.spec.depth:
                    best = item
        return best

    # -- scrolling keeps the minimap in sync ---------------------------------------------
    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self.minimap.update()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.minimap.relayout()

    # -- finding things ----------------------------------------------------------------------
    def _focus_rect(self, ids) -> QRectF | None:
        scene = self.graph_scene()
        r = None
        for nid in ids or ():
            item = scene.node_for(nid) if scene is not None else None
            if item is not None:
                rr = item.sceneBoundingRect()
                r = rr if r is None else r.united(rr)
        return r

    def center_on_node(self, node_id: str) -> bool:
        scene = self.graph_scene()
        item = scene.node_for(node_id) if scene is not None else None
        if item is None:
            return False
        self.centerOn(item.center())
        self.minimap.update()
        return True

    def ensure_nodes_visible(self, ids, margin: int = 60) -> None:
        """Scroll as little as needed so these boxes are on screen (follow mode)."""
        r = self._focus_rect(ids)
        if r is None:
            return
        visible = self.mapToScene(self.viewport().rect()).boundingRect()
        if r.width() > visible.width() or r.height() > visible.height():
            self.centerOn(r.center())
        else:
            self.ensureVisible(r, margin, margin)
        self.minimap.update()

    def find(self, text: str) -> list[str]:
        """Node ids whose label, op or module contains `text`; marks them and centres the
        first one."""
        scene = self.graph_scene()
        if scene is None:
            return []
        hits = scene.find(text)
        scene.set_search_hits(hits)
        if hits:
            self.center_on_node(hits[0])
        return hits

    # -- export --------------------------------------------------------------------------
    def export_png(self, path: str | Path, scale: float = 2.0, overlays: bool = False) -> Path:
        return export.export_png(self._require_scene(), path, scale, overlays=overlays)

    def export_svg(self, path: str | Path, overlays: bool = False) -> Path:
        return export.export_svg(self._require_scene(), path, overlays=overlays)

    def _require_scene(self) -> GraphScene:
        scene = self.graph_scene()
        if scene is None:
            raise RuntimeError("no graph to export yet")
        return scene
