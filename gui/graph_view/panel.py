"""The graph panel: search box, graph view, legend and a status line, kept in step with a
`Session`.

Layout never runs on the GUI thread: on a new tape the panel measures the boxes with Qt's
font metrics (that part needs the GUI thread), then a `TaskRunner` computes the layout and
the scene plan; the panel only builds the items when the result comes back. Layouts are
cached per tape and folded-module set, so folding a module back is instant. Big graphs
start with modules folded (`default_collapsed`).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QPointF, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from gradstudio.core.layout import (
    LayoutCache,
    collapse,
    default_collapsed,
    default_measure,
)
from gradstudio.core.layout.collapse import REPEAT_PREFIX
from gradstudio.core.session import Session

from ..workers import TaskRunner
from .laser import LaserPointer
from .legend import LegendWidget
from .plan import build_plan
from .scene import GraphScene
from .text import Fonts, Measurer
from .view import GraphView

DEFAULT_MAX_NODES = 300  # more boxes than this: start with modules folded
PRESENTATION_TEXT = 1.4  # the panel's own widgets' text in presentation mode


class GraphPanel(QWidget):
    sig_layout_ready = Signal(object)
    """A layout was computed and its scene is on screen (the `Layout`)."""
    sig_layout_failed = Signal(object)
    """Layout raised (the exception); the previous scene stays."""
    sig_presentation_changed = Signal(bool)
    """Presentation mode (bigger text and lines) was switched on or off."""

    def __init__(self, session: Session, parent: QWidget | None = None, *, engine: str = "auto",
                 theme: str = "light", follow: bool = True, max_nodes: int = DEFAULT_MAX_NODES):
        super().__init__(parent)
        self.session = session
        self.engine = engine
        self.theme = theme
        self.follow = follow
        self.max_nodes = max_nodes
        self.presentation = False
        self.fonts = Fonts.make(False)
        self.layout_result = None  # the Layout on screen
        self.layout_fallback_reason: str | None = None
        self._cache = LayoutCache()
        self._runner = TaskRunner(self)
        self._idle = True
        self._token = 0  # one per tape
        self._graph = None
        self._sizes: dict = {}
        self._keep_view = False
        self._anchor: tuple[str, QPointF] | None = None  # keep a folded module under the mouse
        self._adjusting = False
        self._hits: list[str] = []
        self._hit = -1
        self._last_search: str | None = None

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Find a node: op, grad_fn, name or module (Enter: next)")
        self.search.setClearButtonEnabled(True)
        self.matches = QLabel(self)
        self.view = GraphView(self)
        self.laser = LaserPointer(self)
        self.legend = LegendWidget(self)
        self.status = QLabel("Run a script to see its autograd graph.", self)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        top = QHBoxLayout()
        top.setContentsMargins(6, 6, 6, 2)
        top.addWidget(self.search, 1)
        top.addWidget(self.matches)
        bottom = QHBoxLayout()
        bottom.setContentsMargins(6, 0, 6, 4)
        bottom.addWidget(self.status, 1)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(top)
        lay.addWidget(self.view, 1)
        lay.addWidget(self.legend)
        lay.addLayout(bottom)

        self.search.returnPressed.connect(self._on_search_enter)
        self.search.textChanged.connect(self._on_search_text)
        self.view.sig_node_clicked.connect(self._on_node_clicked)
        self.view.sig_cluster_activated.connect(self._on_cluster_activated)
        self._runner.sig_finished.connect(self._on_layout_done)
        self._runner.sig_failed.connect(self._on_layout_failed)
        self._runner.sig_idle.connect(self._on_idle)
        self._connections = [
            (session.sig_tape_changed, self._on_tape_changed),
            (session.sig_step_changed, self._on_step_changed),
            (session.sig_selection_changed, self._on_selection_changed),
            (session.sig_collapsed_changed, self._on_collapsed_changed),
        ]
        for sig, slot in self._connections:
            sig.connect(slot)
        self.set_theme(theme)
        if session.tape is not None:
            self._on_tape_changed(session.tape)

    # -- public --------------------------------------------------------------------------
    @property
    def scene(self) -> GraphScene | None:
        return self.view.graph_scene()

    @property
    def busy(self) -> bool:
        """A layout is running or its thread has not been cleaned up yet."""
        return not self._idle

    def set_theme(self, name: str) -> None:
        """"dark" or "light"."""
        self.theme = name
        self.legend.set_theme(name)
        if self.scene is not None:
            self.scene.set_theme(name)
        self.view.set_theme(name)

    def set_presentation(self, on: bool) -> None:
        """Bigger fonts and thicker lines for a projector (boxes grow: re-lays out)."""
        if on == self.presentation:
            return
        self.presentation = on
        self.fonts = Fonts.make(on)
        self.legend.set_presentation(on)
        self.laser.set_presentation(on)
        self.view.presentation = on
        for widget, size in ((self.status, 9), (self.search, 10), (self.matches, 10)):
            f = widget.font()
            f.setPointSizeF(size * PRESENTATION_TEXT if on else size)
            widget.setFont(f)
        if self._graph is not None:
            self._sizes = Measurer(self.fonts).sizes(self._graph)
            self._request_layout(keep_view=True)
        self.sig_presentation_changed.emit(on)

    def set_laser(self, on: bool) -> None:
        """The lecture's laser pointer: a glowing ring on the current step's node(s)."""
        self.laser.set_enabled(on)

    def set_engine(self, engine: str) -> None:
        """"auto", "dot" or "builtin"."""
        if engine != self.engine:
            self.engine = engine
            if self._graph is not None:
                self._request_layout(keep_view=True)

    def find(self, text: str) -> list[str]:
        self._hits = self.view.find(text)
        self._hit = 0 if self._hits else -1
        self._show_matches(text)
        return self._hits

    def export_png(self, path: str | Path, scale: float = 2.0, overlays: bool = False) -> Path:
        """The graph at the current step; `overlays` keeps the laser pointer in the picture."""
        return self.view.export_png(path, scale, overlays)

    def export_svg(self, path: str | Path, overlays: bool = False) -> Path:
        return self.view.export_svg(path, overlays)

    def wait_idle(self, msecs: int = 30_000) -> bool:
        """Block until a running layout ended (its result still arrives by event)."""
        return self._runner.wait(msecs)

    def shutdown(self) -> None:
        """Stop observing the session and wait for the layout thread (owner calls on close)."""
        for sig, slot in self._connections:
            try:
                sig.disconnect(slot)
            except (ValueError, RuntimeError):
                pass
        self._connections = []
        self._runner.shutdown()
        # the finished threads' queued notifications must run while the runner still exists
        QCoreApplication.sendPostedEvents(None, QEvent.Type.MetaCall)

    # -- session -> panel ----------------------------------------------------------------
    def _on_tape_changed(self, tape) -> None:
        for presentation in (False, True):  # the previous tape's layouts are no use any more
            self._cache.clear((self._token, presentation))
        self._token += 1
        graph = self.session.graph
        self._graph = graph
        self._hits, self._hit = [], -1
        if graph is None:
            return
        self._sizes = Measurer(self.fonts).sizes(graph)
        if len(graph.nodes) > self.max_nodes and not (self.session.collapsed & graph.clusters.keys()):
            folded = default_collapsed(graph, self.max_nodes)
            if folded:
                self._adjusting = True
                try:
                    self.session.set_collapsed(folded)
                finally:
                    self._adjusting = False
        self._request_layout(keep_view=False)

    def _on_collapsed_changed(self, paths) -> None:
        if not self._adjusting and self._graph is not None:
            self._request_layout(keep_view=True)

    def _on_step_changed(self, step: int) -> None:
        scene = self.scene
        if scene is None or getattr(scene, "token", None) != self._cache_token():
            return  # the scene of an older tape, until the new layout arrives
        scene.set_step(step)
        if self.follow:
            self.view.ensure_nodes_visible(scene.current_nodes())
        self._update_status()

    def _on_selection_changed(self, node_id) -> None:
        if self.scene is not None:
            self.scene.set_selected(node_id)
            if node_id is not None:  # selected elsewhere (timeline, inspector): bring it into view
                self.view.ensure_nodes_visible([node_id])

    # -- view -> session -----------------------------------------------------------------
    def _on_node_clicked(self, node_id) -> None:
        self.session.select(node_id)

    def _on_cluster_activated(self, path: str) -> None:
        scene = self.scene
        item = None
        if scene is not None:
            item = scene.clusters.get(path) or scene.nodes.get(f"cluster:{path}")
        if item is not None:
            self._anchor = (path, QPointF(self.view.mapFromScene(item.sceneBoundingRect().topLeft())))
        self.session.toggle_collapsed(path)

    # -- layout --------------------------------------------------------------------------
    def _cache_token(self) -> tuple:
        return (self._token, self.presentation)

    def _request_layout(self, keep_view: bool) -> None:
        graph, sizes, cache = self._graph, self._sizes, self._cache
        token, engine = self._cache_token(), self.engine
        collapsed = frozenset(
            p for p in self.session.collapsed if p in graph.clusters or p.startswith(REPEAT_PREFIX)
        )
        arrow = 7.0 * self.fonts.line_width / 1.3

        def measure(node, sizes=sizes):
            return sizes.get(node.id) or default_measure(node)

        def work():  # worker thread: no widgets, no fonts
            lay = cache.layout(token, graph, collapsed, engine, measure)
            shown = collapse(graph, lay.collapsed)
            return token, build_plan(graph, shown, lay, arrow=arrow), lay

        self._keep_view = keep_view
        self.status.setText("Laying out…")
        self._idle = False
        self._runner.submit(work)

    def _on_idle(self) -> None:
        self._idle = True

    def _on_layout_done(self, result) -> None:
        token, plan, lay = result
        if token != self._cache_token():
            return  # a newer tape or font size is on its way
        old = self.scene
        scene = GraphScene(plan, theme=self.theme, fonts=self.fonts, parent=self.view)
        scene.token = token
        if self.session.tape is not None:
            scene.set_step(self.session.step)
        scene.set_selected(self.session.selected)
        scene.set_new_nodes(self._new_node_ids())
        keep = self._keep_view and old is not None
        self.view.set_graph_scene(scene, keep_view=keep)
        self.laser.attach(scene)
        self._restore_anchor(scene)
        self._keep_view = False
        if old is not None:
            old.deleteLater()
        self.layout_result = lay
        self.layout_fallback_reason = lay.fallback_reason
        self.legend.set_legend(scene.legend, {s.kind for s in plan.nodes})
        if self._hits and self.search.text():
            self.find(self.search.text())
        self._update_status()
        self.sig_layout_ready.emit(lay)

    def _new_node_ids(self) -> set[str]:
        """Nodes of this run whose key the previous run lacked (after Run again)."""
        d, graph = self.session.last_diff, self._graph
        if not d or graph is None:
            return set()
        new = set(d.only_b)
        return {n.id for n in graph.nodes.values() if n.key in new}

    def _restore_anchor(self, scene: GraphScene) -> None:
        """After folding or unfolding, put that module's box back where the user clicked."""
        if self._anchor is None:
            return
        path, at = self._anchor
        self._anchor = None
        item = scene.clusters.get(path) or scene.nodes.get(f"cluster:{path}")
        if item is None:
            return
        target = item.sceneBoundingRect().topLeft()
        now = QPointF(self.view.mapFromScene(target))
        z = self.view.zoom() or 1.0
        centre = self.view.mapToScene(self.view.viewport().rect().center())
        self.view.centerOn(centre + (now - at) / z)

    def _on_layout_failed(self, exc) -> None:
        self.status.setText(f"Layout failed: {exc}")
        self.sig_layout_failed.emit(exc)

    # -- search and status -----------------------------------------------------------------
    def _on_search_text(self, text: str) -> None:
        if not text:
            if self.scene is not None:
                self.scene.set_search_hits([])
            self._hits, self._hit = [], -1
            self.matches.setText("")

    def _on_search_enter(self) -> None:
        text = self.search.text()
        if self._hits and self._hit >= 0 and text == self._last_search:
            self._hit = (self._hit + 1) % len(self._hits)
            self.view.center_on_node(self._hits[self._hit])
            self._show_matches(text)
            return
        self._last_search = text
        self.find(text)

    def _show_matches(self, text: str) -> None:
        if not text:
            self.matches.setText("")
        elif not self._hits:
            self.matches.setText("no match")
        else:
            self.matches.setText(f"{self._hit + 1} of {len(self._hits)}")

    def _update_status(self) -> None:
        scene, lay = self.scene, self.layout_result
        if scene is None or lay is None:
            return
        plan = scene.plan
        folded = f" · {len(plan.collapsed)} modules folded" if plan.collapsed else ""
        parts = [
            f"{scene.visible_count}/{len(plan.nodes)} boxes shown{folded}",
            f"{'Graphviz dot' if lay.engine == 'dot' else 'built-in'} layout, {lay.seconds * 1000:.0f} ms",
        ]
        n = self.session.n_events
        if n:
            parts.append(f"step {self.session.step + 1} of {n}")
        self.status.setText(" · ".join(parts))
        self.status.setToolTip(lay.fallback_reason or "")
