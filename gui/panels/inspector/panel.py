"""The inspector: everything known about one graph node as of the current step."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QFrame,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .._shared import observe, read_only_table
from .describe import KIND_TEXT, edges_text, focus, gradient_at, node_name, saved_rows, shape_text, value_of
from .tensor_view import TensorView, dim_color

EMPTY_TEXT = "Select a node in the graph, or step to an operation, to inspect it."
VALUE_TAB, GRAD_TAB = 0, 1


class InspectorPanel(QWidget):
    """Follows the selection, or the current step's node when nothing is selected.

    Gradients are those computed up to the current step (the graph as of that step),
    so stepping through backward shows them arrive."""

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.node_id: str | None = None
        self._base_point_size = self.font().pointSizeF()

        self.title = QLabel(self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.title.setWordWrap(True)
        self.details = QLabel(self)
        self.details.setTextFormat(Qt.TextFormat.RichText)
        self.details.setWordWrap(True)
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.saved_caption = QLabel("<b>Saved for backward</b>", self)
        self.saved = self._make_saved_table()
        self.freed = QLabel(self)
        self.freed.setWordWrap(True)

        info = QWidget(self)
        col = QVBoxLayout(info)
        col.setContentsMargins(8, 6, 8, 6)
        for w in (self.title, self.details, self.saved_caption, self.saved, self.freed):
            col.addWidget(w)
        col.addStretch(1)
        scroll = _scrolling(info, self)

        self.value_view = TensorView(self)
        self.grad_view = TensorView(self)
        self.tabs = QTabWidget(self)
        for view, name in ((self.value_view, "Value"), (self.grad_view, "Gradient")):
            self.tabs.addTab(_scrolling(view, self), name)  # shrinks with a short dock
        self.tabs.setDocumentMode(True)

        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(scroll)
        split.addWidget(self.tabs)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)
        split.setChildrenCollapsible(False)
        line = self.fontMetrics().lineSpacing()
        scroll.setMinimumHeight(line * 6)  # a few lines of details
        self.tabs.setMinimumHeight(line * 15)  # the statistics and some of the picture
        self._split = split
        self._split_dragged = False  # until the user drags it, `_balance` sets the split
        split.splitterMoved.connect(self._on_split_dragged)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(split)

        observe(self, session.sig_tape_changed, self._on_tape_changed)
        observe(self, session.sig_step_changed, self._on_step_changed)
        observe(self, session.sig_selection_changed, self._on_selection_changed)
        self._on_tape_changed(session.tape)

    # -- public ------------------------------------------------------------------------
    def current_view(self) -> TensorView:
        """The tensor view of the tab shown: values or gradient."""
        return self.grad_view if self.tabs.currentIndex() == GRAD_TAB else self.value_view

    def show_gradient(self, on: bool = True) -> None:
        self.tabs.setCurrentIndex(GRAD_TAB if on else VALUE_TAB)

    def set_font_scale(self, f: float) -> None:
        font = self.font()
        font.setPointSizeF(self._base_point_size * f)
        self.setFont(font)

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "tabs"):
            self._refresh()  # the HTML carries colours taken from the palette

    # -- session -> widgets ------------------------------------------------------------
    def _on_tape_changed(self, _tape) -> None:
        self._refresh()

    def _on_step_changed(self, _step: int) -> None:
        self._refresh()

    def _on_selection_changed(self, _node_id) -> None:
        self._refresh()

    def _refresh(self) -> None:
        s = self.session
        f = focus(s)
        graph = s.graph
        full = graph.nodes.get(f.node_id) if graph is not None and f.node_id else None
        self.node_id = full.id if full is not None else None
        if full is None:
            self._show_nothing()
            return
        # this one node as of the step: copying the whole graph at every step of a long
        # tape would take a large part of a second
        node_at = graph.node_at(full.id, s.step)
        self._show_tabs()
        self._show_info(full, node_at, graph, f.others)
        value = value_of(graph, full)
        if value is None:
            self.value_view.show_message("no value recorded for this node")
        else:
            self.value_view.show_snapshot(value, "forward value")
        if node_at is None:
            self.grad_view.show_message(f"not created yet: this node appears at step {full.step + 1}")
        else:
            snap, caption = gradient_at(node_at, full, s.step)
            self.grad_view.show_snapshot(snap, caption, diverging=True)
        if f.following_step:  # forward steps show values, backward steps gradients
            ev = s.current_event
            self.show_gradient(ev is not None and ev.is_backward)

    def _show_tabs(self) -> None:
        if self.tabs.isHidden():
            self.tabs.show()
            QTimer.singleShot(0, self._balance)  # once the splitter has placed them

    def _balance(self) -> None:
        """Two fifths for the details, three for the values: left to itself the splitter
        gives the value view its size hint, and in a short dock the node's details shrink
        to two lines. A split the user dragged stays as it is."""
        if not self._split_dragged and not self.tabs.isHidden():
            self._split.setSizes([2000, 3000])  # weights, scaled to the height

    def _on_split_dragged(self, _pos: int, _index: int) -> None:
        self._split_dragged = True

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._balance()

    def _show_nothing(self) -> None:
        self.title.setText(f"<span style='color:{self._dim()}'>{EMPTY_TEXT}</span>")
        self.details.setText("")
        for w in (self.saved_caption, self.saved, self.freed):
            w.hide()
        self.value_view.show_message("")
        self.grad_view.show_message("")
        self.tabs.hide()

    def _show_info(self, node, node_at, graph, others) -> None:
        s = self.session
        dim = self._dim()
        esc = html.escape
        big = round(self.font().pointSizeF() * 1.35)
        title = f"<span style='font-size:{big}pt; font-weight:600'>{esc(node.label)}</span>"
        title += f"&nbsp;&nbsp;<span style='color:{dim}'>{esc(KIND_TEXT.get(node.kind, node.kind))}</span>"
        if node_at is None:
            title += f"<br><i>created later, at step {node.step + 1}</i>"
        elif s.selected is None:
            ev = s.current_event
            why = "backward is at this node" if ev is not None and ev.is_backward else "made by this step"
            title += f"<br><span style='color:{dim}'>{why} (step {s.step + 1})</span>"
        self.title.setText(title)

        rows = []
        if node.op:
            rows.append(("op", f"<code>{esc(node.op)}</code>"))
        if node.kind in ("op", "accumulate"):
            rows.append(("grad_fn", f"<code>{esc(node.label)}</code>"))
        rows.append(("module", esc(node.module) if node.module else ("(model)" if node.module == "" else "—")))
        rows.append(("shape", esc(shape_text(node.shape))))
        rows.append(("created", f"step {node.step + 1}" if node.step >= 0 else "before recording"))
        made_by = s.step if node_at is not None else None  # a node not made yet: all its edges
        ins, outs = edges_text(graph, node.id, made_by)
        if ins:
            rows.append(("inputs", "<br>".join(esc(t) for t in ins)))
        if outs:
            rows.append(("used by", "<br>".join(esc(t) for t in outs)))
        others = [i for i in others if i in graph.nodes and (made_by is None or graph.nodes[i].step <= made_by)]
        if others:
            rows.append(("same step", "<br>".join(esc(node_name(graph, i)) for i in others)))
        body = "<table cellspacing='0' cellpadding='2'>" + "".join(
            f"<tr><td style='color:{dim}; padding-right:10px' valign='top'>{k}</td><td>{v}</td></tr>" for k, v in rows
        ) + "</table>"
        body += self._source_html(node.source)
        self.details.setText(body)
        self._fill_saved(node, node_at)

    def _source_html(self, src) -> str:
        if src is None:
            return ""
        esc = html.escape
        name = src.filename if src.filename.startswith("<") else os.path.basename(src.filename)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont).family()
        lines = []
        for n, text in src.context():
            mark = "▶" if n == src.lineno else "&nbsp;"
            style = " style='background:#fff3b0; color:#000'" if n == src.lineno else ""
            lines.append(f"<span{style}>{mark}{n:>4}  {esc(text)}</span>")
        return (
            f"<p style='margin-top:8px'><span style='color:{self._dim()}'>source</span>&nbsp; {esc(name)}:{src.lineno}"
            f" in <code>{esc(src.function)}</code></p>"
            f"<pre style='font-family:\"{mono}\"; margin:0'>{'<br>'.join(lines)}</pre>"
        )

    def _fill_saved(self, node, node_at) -> None:
        rows = saved_rows(node, self.session.tape)
        has = bool(rows)
        self.saved_caption.setVisible(has)
        self.saved.setVisible(has)
        self.saved.setRowCount(len(rows))
        for r, row in enumerate(rows):
            for c, text in enumerate((row.name, row.shape, row.dtype, row.size, row.note)):
                item = QTableWidgetItem(text)
                if c == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if row.note:
                    item.setForeground(dim_color(self.palette()))
                self.saved.setItem(r, c, item)
        self.saved.resizeRowsToContents()
        self.saved.setFixedHeight(
            self.saved.horizontalHeader().height() + sum(self.saved.rowHeight(r) for r in range(len(rows))) + 4
        )
        held = any(r.size for r in rows)
        if node_at is not None and node_at.freed:
            text = f"Saved tensors freed at step {node_at.freed_step + 1} (backward without retain_graph)."
        elif node_at is not None and held:
            text = "Held for backward" + (f"; freed at step {node.freed_step + 1}." if node.freed else ".")
        else:
            text = ""
        self.freed.setText(text)
        self.freed.setVisible(bool(text))

    def _make_saved_table(self) -> QTableWidget:
        t = read_only_table(self, 0, 5)
        t.setHorizontalHeaderLabels(["name", "shape / value", "dtype", "size", ""])
        t.setWordWrap(False)
        h = t.horizontalHeader()
        for c in range(4):
            h.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        h.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        return t

    def _dim(self) -> str:
        return dim_color(self.palette()).name()


def _scrolling(widget: QWidget, parent: QWidget) -> QScrollArea:
    """`widget` in a frameless scroll area that sizes it to fit: so the details and the
    tensor views (table, heat map and histogram need a third of a screen) can share a
    short dock."""
    area = QScrollArea(parent)
    area.setWidget(widget)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    return area
