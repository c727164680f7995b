"""One titled graph of the comparison: a graph panel on its own session, its match marks,
and a line for calls that made no box. A static capture that failed shows its refusal
instead of a graph.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QLabel,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.capture import Tape
from gradstudio.core.compare.marks import LOST, LOST_COLOUR, Mark, Unboxed
from gradstudio.core.graph.model import Graph

from ..graph_view.panel import GraphPanel
from .graph_session import GraphSession
from .mark_items import apply_marks

TITLE_PT, TITLE_PT_PRESENTING = 12.5, 18.0
NOTE_PT, NOTE_PT_PRESENTING = 11.0, 16.0


class GraphColumn(QWidget):
    """A heading, a graph (or why there is none) and a note under it."""

    def __init__(self, session: GraphSession, parent: QWidget | None = None, *, theme: str = "light"):
        super().__init__(parent)
        self.session = session
        self.presentation = False
        self.marks: dict[str, Mark] = {}
        self.mark_items: list = []
        self._waiting = False
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.panel = GraphPanel(session, self, theme=theme)
        for w in (self.panel.search, self.panel.matches):  # one search box per view is plenty
            w.hide()
        self.refusal = QWidget(self)
        self.refusal_heading = QLabel(self.refusal)
        self.refusal_where = QLabel(self.refusal)
        for label in (self.refusal_heading, self.refusal_where):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.refusal_error = QPlainTextEdit(self.refusal)
        self.refusal_error.setReadOnly(True)
        rv = QVBoxLayout(self.refusal)
        rv.setContentsMargins(6, 6, 6, 6)
        rv.addWidget(self.refusal_heading)
        rv.addWidget(self.refusal_where)
        rv.addWidget(self.refusal_error, 1)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.panel)
        self.stack.addWidget(self.refusal)
        self.note = QLabel(self)
        self.note.setWordWrap(True)
        self.note.setTextFormat(Qt.TextFormat.RichText)
        self.note.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.title)
        lay.addWidget(self.stack, 1)
        lay.addWidget(self.note)
        self.panel.sig_layout_ready.connect(self._on_layout_ready)
        self._fonts()

    # -- what it shows -------------------------------------------------------------------
    @property
    def title_text(self) -> str:
        """The heading as plain text."""
        return self.title.text().replace("<b>", "").replace("</b>", "")

    @property
    def node_count(self) -> int:
        graph = self.session.graph
        return len(graph.nodes) if graph is not None else 0

    @property
    def ready(self) -> bool:
        """The latest graph is laid out and marked (or a refusal is shown)."""
        if self.stack.currentWidget() is self.refusal:
            return True
        return not self._waiting and self.panel.scene is not None and not self.panel.busy

    def set_title(self, heading: str, detail: str = "") -> None:
        text = f"<b>{escape(heading)}</b>"
        if detail:
            text += f" · {escape(detail)}"
        self.title.setText(text)

    def show_tape(self, tape: Tape) -> None:
        """A recorded run: its graph as the session builds it (`session.graph`)."""
        self.stack.setCurrentWidget(self.panel)
        self.marks = {}
        self._waiting = True
        self.session.set_tape(tape)

    def show_static(self, graph: Graph | None) -> None:
        """A ready graph; None keeps the graph on screen."""
        self.stack.setCurrentWidget(self.panel)
        if graph is not None:
            self.marks = {}
            self._waiting = True
            self.session.show_graph(graph)

    def set_marks(self, marks: dict[str, Mark]) -> None:
        """Marks for the graph shown (or about to be shown once laid out)."""
        self.marks = marks
        if not self._waiting:
            self._on_layout_ready(None)

    def show_refusal(self, method: str, error: str | None, where: str | None) -> None:
        """No graph: the capture's real error and the user's line it points at."""
        self.stack.setCurrentWidget(self.refusal)
        self.marks = {}
        self.refusal_heading.setText(
            f"<span style='color:{LOST_COLOUR}'><b>{escape(method)} refused to capture this model.</b></span> "
            "There is no static graph to compare with."
        )
        self.refusal_where.setText(f"Your line: <code><b>{escape(where)}</b></code>" if where else "")
        self.refusal_where.setVisible(bool(where))
        self.refusal_error.setPlainText(error or "")

    @property
    def refusal_text(self) -> str:
        """The error shown in place of a graph ("" while a graph is shown)."""
        return self.refusal_error.toPlainText() if self.stack.currentWidget() is self.refusal else ""

    def set_note(self, calls: list[Unboxed]) -> None:
        """List the calls that made no box, each marked like a box would be."""
        if not calls:
            self.note.hide()
            return
        parts = []
        for call in calls:
            colour = call.mark.colour
            tag = "lost" if call.mark.role == LOST else call.mark.label
            parts.append(f"<span style='color:{colour}; font-weight:bold'>[{escape(tag)}]</span> {escape(call.text)}")
        self.note.setText("No box (no autograd node): " + " &nbsp; ".join(parts))
        self.note.show()

    # -- look ------------------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        self.panel.set_presentation(on)
        self._fonts()
        self._on_layout_ready(None)

    def set_theme(self, name: str) -> None:
        self.panel.set_theme(name)
        self._on_layout_ready(None)

    def _fonts(self) -> None:
        for label, (small, big) in ((self.title, (TITLE_PT, TITLE_PT_PRESENTING)),
                                    (self.note, (NOTE_PT, NOTE_PT_PRESENTING)),
                                    (self.refusal_heading, (NOTE_PT + 2, NOTE_PT_PRESENTING + 2)),
                                    (self.refusal_where, (NOTE_PT + 1, NOTE_PT_PRESENTING + 1))):
            f = label.font()
            f.setPointSizeF(big if self.presentation else small)
            label.setFont(f)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(NOTE_PT_PRESENTING if self.presentation else NOTE_PT - 0.5)
        self.refusal_error.setFont(mono)

    def _on_layout_ready(self, layout) -> None:
        scene = self.panel.scene
        if layout is not None:
            self._waiting = False
            if scene is not None:  # everything shown, no event glowing as "current"
                scene.set_step(self.session.step + 1)
                self._fit_whole()
        for item in self.mark_items:
            try:
                holder = item.scene()
            except RuntimeError:  # went with its old scene
                continue
            if holder is not None:
                holder.removeItem(item)
        self.mark_items = apply_marks(scene, self.marks, self.presentation)

    def _fit_whole(self) -> None:
        """Side by side, the graphs' sizes are the point: show each whole, even if small."""
        view = self.panel.view
        shown = view.mapFromScene(view.sceneRect()).boundingRect()
        if shown.width() > view.viewport().width() or shown.height() > view.viewport().height():
            view.fit()

    def shutdown(self) -> None:
        self.panel.shutdown()
