"""Step through training: the five lines of the loop, run one at a time for real.

Left, the code with an arrow at the line that runs next and what the last line did; in
the middle, the iteration's autograd graph as it stands after that line (on a Session of
its own, so the main graph is left alone); right, every parameter's gradient and update,
the selected one as small matrices (`old − lr·grad = new`) and as a heatmap of its change.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.session import Session
from gradstudio.core.walkthrough import LineResult, TrainingWalkthrough
from gradstudio.core.walkthrough.seed_lines import BACKWARD, ZERO_GRAD

from ..graph_view import GraphPanel
from .code_listing import CodeListing
from .delta_heatmap import DeltaHeatmap
from .from_training import make_walkthrough, set_lr
from .inspection import COMPARE, GRADS, STEP, GradHistory, Inspection
from .line_report import LineReport
from .matrix_view import MatrixView
from .param_table import ParamTable

PRESENTATION_SCALE = 1.6
TABLE_PRESENTATION_SCALE = 1.4  # many columns: a little smaller than the code
DEFAULT_LR = 0.1
BASE_POINTS = 10.0
ACCUMULATION_NOTE = ("For an exact 2×, set lr to 0 and repeat the batch: otherwise the step in between "
                     "moves the weights.")
BETWEEN_ITERATIONS = "These settings change between iterations, when the arrow is at line 1."
NO_GRAPH = "No autograd graph yet: outputs = net(images) builds it."


class WalkthroughView(QWidget):
    """`prepare()` gives the Training form's model and data (a `Prepared`); it is called on
    first show and on Reset, and what it raises is shown here, never raised."""

    def __init__(self, prepare: Callable[[], object], parent: QWidget | None = None, *, theme: str = "light"):
        super().__init__(parent)
        self._prepare = prepare
        self.walk: TrainingWalkthrough | None = None
        self.last_result: LineResult | None = None
        self.inspection: Inspection | None = None
        self.history = GradHistory()
        self.session = Session()
        self.presentation = False
        self._started = False
        self._build(theme)
        self._sync_controls()

    # -- construction --------------------------------------------------------------------
    def _build(self, theme: str) -> None:
        self.heading = QLabel("Step through training", self)
        self.listing = CodeListing(self)
        self.next_button = QPushButton("Next line  ▶", self)
        self.next_button.setToolTip("Run the line the arrow points at (PageDown or →)")
        self.next_button.setDefault(True)
        self.again_button = QPushButton("Backward again", self)
        self.again_button.setToolTip("Call loss.backward() once more on this iteration's graph "
                                     "(after line 4, before optimizer.step())")
        self.iteration_label = QLabel(self)
        self.skip_box = QCheckBox("Skip zero_grad (accumulate)", self)
        self.accumulation_note = QLabel(ACCUMULATION_NOTE, self)
        self.accumulation_note.setWordWrap(True)
        self.retain_box = QCheckBox("retain_graph=True", self)
        self.repeat_box = QCheckBox("Repeat the same batch", self)
        self.lr_spin = QDoubleSpinBox(self)
        self.lr_spin.setRange(0.0, 10.0)
        self.lr_spin.setDecimals(4)
        self.lr_spin.setSingleStep(0.01)
        self.lr_spin.setValue(DEFAULT_LR)
        self.lr_spin.setToolTip("The learning rate of the walkthrough's own SGD (w ← w − lr·grad)")
        self.lr_label = QLabel("lr of this SGD", self)
        self.settings_note = QLabel(BETWEEN_ITERATIONS, self)
        self.settings_note.setWordWrap(True)
        self.back_button = QPushButton("Back to start", self)
        self.back_button.setToolTip("Iteration 1, line 1, with the starting weights and the same batches")
        self.reset_button = QPushButton("Reset", self)
        self.reset_button.setToolTip("Take the model and data from the Training form again")
        self.report = LineReport(self)

        self.graph_caption = QLabel(NO_GRAPH, self)
        self.graph_caption.setWordWrap(True)
        self.graph_panel = GraphPanel(self.session, self, theme=theme)
        self.graph_panel.status.setWordWrap(True)  # a long status line must not widen the column
        self.table_caption = QLabel("Parameters", self)
        self.table_caption.setWordWrap(True)
        self.table = ParamTable(self)
        self.matrix = MatrixView(self)
        self.heatmap = DeltaHeatmap(self)

        self.toggles = toggles = QGroupBox("Try", self)
        grid = QGridLayout(toggles)
        grid.addWidget(self.skip_box, 0, 0, 1, 2)
        grid.addWidget(self.accumulation_note, 1, 0, 1, 2)
        grid.addWidget(self.retain_box, 2, 0, 1, 2)
        grid.addWidget(self.repeat_box, 3, 0, 1, 2)
        grid.addWidget(self.lr_label, 4, 0)
        grid.addWidget(self.lr_spin, 4, 1)
        grid.addWidget(self.settings_note, 5, 0, 1, 2)
        grid.setColumnStretch(0, 1)

        steps = QHBoxLayout()
        steps.addWidget(self.next_button, 2)
        steps.addWidget(self.again_button, 1)
        restart = QHBoxLayout()
        restart.addWidget(self.back_button)
        restart.addWidget(self.reset_button)
        left = QWidget(self)
        column = QVBoxLayout(left)
        column.setContentsMargins(8, 8, 8, 8)
        column.addWidget(self.heading)
        column.addWidget(self.listing)
        column.addLayout(steps)
        column.addWidget(self.iteration_label)
        column.addWidget(self.report, 1)
        column.addWidget(toggles)
        column.addLayout(restart)
        scroll = QScrollArea(self)
        scroll.setWidget(left)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumWidth(300)

        graph_box = _boxed(self.graph_caption, self.graph_panel)
        right = QSplitter(Qt.Orientation.Vertical, self)
        right.addWidget(_boxed(self.table_caption, self.table))
        self.matrix_scroll = QScrollArea(self)
        self.matrix_scroll.setWidget(self.matrix)
        self.matrix_scroll.setWidgetResizable(True)
        self.matrix_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        right.addWidget(self.matrix_scroll)
        right.addWidget(self.heatmap)
        right.setStretchFactor(0, 2)
        right.setStretchFactor(1, 0)
        right.setStretchFactor(2, 3)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.addWidget(scroll)
        self.splitter.addWidget(graph_box)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setStretchFactor(2, 2)
        self.splitter.setSizes([460, 480, 660])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.splitter)

        self.next_button.clicked.connect(self.advance)
        self.again_button.clicked.connect(self.backward_again)
        self.back_button.clicked.connect(self.back_to_start)
        self.reset_button.clicked.connect(self.reset)
        self.skip_box.toggled.connect(lambda on: self._set_toggle("skip_zero_grad", on))
        self.retain_box.toggled.connect(lambda on: self._set_toggle("retain_graph", on))
        self.repeat_box.toggled.connect(lambda on: self._set_toggle("repeat_batch", on))
        self.lr_spin.valueChanged.connect(self._set_lr)
        self.table.sig_selected.connect(self._show_selected)
        # the whole iteration in view; after the status line has re-wrapped under the new layout
        self.graph_panel.sig_layout_ready.connect(lambda _layout: QTimer.singleShot(0, self.graph_panel.view.fit))
        self.set_presentation(False, force=True)

    # -- the lecturer's commands -----------------------------------------------------------
    def advance(self) -> LineResult | None:
        """Run the line the arrow points at; None when there is nothing to run (see the report)."""
        if self.walk is None and not self._started:
            self.reset()
        if self.walk is None:
            return None
        result = self.walk.advance()
        self._show_result(result)
        return result

    def backward_again(self) -> LineResult | None:
        """loss.backward() once more: PyTorch's error when the graph was freed, doubled
        gradients when it was retained."""
        if self.walk is None or not self.walk.can_backward_again:
            return None
        result = self.walk.backward_again()
        self._show_result(result, again=True)
        return result

    def back_to_start(self) -> None:
        """Iteration 1, line 1: the starting weights, no .grad, the same batches."""
        if self.walk is None:
            return
        self.walk.reset()
        self._clear("Back at the start: the weights and .grad are as they were. " +
                    "Press Next line to run optimizer.zero_grad().")

    def reset(self) -> None:
        """A fresh walkthrough on the Training form's current model and data."""
        self._started = True
        if self.walk is not None:
            self.walk.close()
            self.walk = None
        try:
            prepared = self._prepare()
            self.walk = make_walkthrough(prepared, self.lr_spin.value(), skip_zero_grad=self.skip_box.isChecked(),
                                         retain_graph=self.retain_box.isChecked(),
                                         repeat_batch=self.repeat_box.isChecked())
        except Exception as exc:  # the form's settings, the data, the model: said in words
            self._clear("Cannot start the walkthrough with the Training form's settings; fix them there, "
                        "then press Reset.", error=f"{type(exc).__name__}: {exc}")
            return
        name = getattr(prepared, "run_name", "")
        self._clear(f"Ready: {name}. Press Next line to run optimizer.zero_grad()." if name else "")

    def set_presentation(self, on: bool, *, force: bool = False) -> None:
        """Everything ~1.6× larger for a projector."""
        if on == self.presentation and not force:
            return
        self.presentation = on
        scale = PRESENTATION_SCALE if on else 1.0
        self.listing.set_scale(scale)
        self.report.set_scale(scale)
        self.table.set_scale(TABLE_PRESENTATION_SCALE if on else 1.0)
        self.matrix.set_scale(scale)
        self.heatmap.set_scale(scale)
        self.graph_panel.set_presentation(on)
        self._fit_left_column()
        for widget in (self.next_button, self.again_button, self.back_button, self.reset_button, self.skip_box,
                       self.retain_box, self.repeat_box, self.lr_spin, self.lr_label, self.iteration_label,
                       self.graph_caption, self.table_caption):
            _set_points(widget, BASE_POINTS * scale)
        for widget in (self.accumulation_note, self.settings_note):
            _set_points(widget, BASE_POINTS * 0.9 * scale)
        _set_points(self.heading, BASE_POINTS * 1.5 * scale, bold=True)
        _set_points(self.toggles, BASE_POINTS * scale, bold=True)
        self.next_button.setMinimumHeight(int(34 * scale))

    def _fit_left_column(self) -> None:
        """Room for the whole listing at its font size; the rest goes to graph and table."""
        want = self.listing.sizeHint().width() + 40
        total = sum(self.splitter.sizes()) or self.width() or 1600
        left = min(want, int(total * 0.4))
        rest = max(total - left, 2)
        graph = rest * 9 // 25
        self.splitter.setSizes([left, graph, rest - graph])

    def set_theme(self, name: str) -> None:
        """"light" or "dark": the graph follows (the other widgets follow the palette)."""
        self.graph_panel.set_theme(name)

    def shutdown(self) -> None:
        """The owner closes: the recording thread and the layout thread end."""
        if self.walk is not None:
            self.walk.close()
        self.graph_panel.shutdown()

    # -- showing -----------------------------------------------------------------------------
    def _show_result(self, result: LineResult, again: bool = False) -> None:
        previous, self.last_result = self.last_result, result
        self.inspection = self.history.inspect(result, previous, self.walk.lr, again=again)
        self.listing.set_state(self.walk.position.line, result.index, failed=not result.ok)
        self.report.show_result(result)
        self._show_graph(result, again)
        self.table.show_inspection(self.inspection)
        self._show_table_caption()
        name = self.table.selected_name()
        if name is not None:
            self._show_selected(name)
        self._sync_controls()

    def _show_graph(self, result: LineResult, again: bool = False) -> None:
        tape = result.tape
        line = "backward again" if again else f"line {result.index + 1} ({result.text})"
        where = f"iteration {result.iteration}, after {line}"
        if tape is None or not tape.nodes:
            self.graph_caption.setText(f"{NO_GRAPH}  ·  {where}")
            return
        self.session.set_tape(tape, step=max(result.steps.stop - 1, 0))
        freed = " · saved tensors freed" if result.index == BACKWARD and not self.walk.retain_graph else ""
        self.graph_caption.setText(f"Autograd graph of {where}{freed if result.ok else ''}")

    def _show_table_caption(self) -> None:
        ins = self.inspection
        text = "Parameters: .grad after this line"
        if ins.mode == STEP:
            ok = sum(u.matches_sgd_rule for u in ins.updates.values())
            text = (f"Parameters after optimizer.step(): w ← w − {ins.lr:g}·grad holds for {ok} of "
                    f"{len(ins.updates)}")
        elif ins.mode == COMPARE:
            text = "Parameters: this backward added to .grad (both shown, with their ratio)"
        self.table_caption.setText(text)

    def _show_selected(self, name: str) -> None:
        ins = self.inspection
        if ins is None or name not in ins.params:
            return
        self.matrix.show_parameter(ins, name)
        self._fit_matrix()
        QTimer.singleShot(0, self._fit_matrix)  # again once the new blocks are laid out
        if ins.mode == STEP and name in ins.updates:
            self.heatmap.show_update(ins.updates[name])
        else:
            self.heatmap.show_waiting()

    def _fit_matrix(self) -> None:
        """The selected parameter's numbers shown whole, without scrolling, up to a limit."""
        self.matrix.layout().activate()
        wanted = self.matrix.sizeHint().height() + 4
        self.matrix_scroll.setMinimumHeight(min(wanted, int(360 * self.matrix.scale)))

    def _clear(self, message: str, error: str = "") -> None:
        """Nothing run yet: the arrow at line 1, empty table and graph."""
        self.last_result = self.inspection = None
        self.history = GradHistory()
        self.listing.set_state(ZERO_GRAD if self.walk is not None else None, None)
        self.report.show_message(message, error)
        self.table.setRowCount(0)
        self.table_caption.setText("Parameters")
        self.matrix.clear()
        self.heatmap.show_waiting()
        self.graph_caption.setText(NO_GRAPH)
        if self.walk is not None:
            self._show_start_grads()
        self._sync_controls()

    def _show_start_grads(self) -> None:
        walk = self.walk
        params = {n: p.detach().clone() for n, p in walk.model.named_parameters()}
        grads = {n: None if p.grad is None else p.grad.detach().clone() for n, p in walk.model.named_parameters()}
        self.inspection = Inspection(GRADS, params, grads, walk.lr)
        self.table.show_inspection(self.inspection)
        name = self.table.selected_name()
        if name is not None:
            self._show_selected(name)

    def _sync_controls(self) -> None:
        walk = self.walk
        ready = walk is not None
        between = not ready or walk.between_iterations
        self.next_button.setEnabled(ready)
        self.back_button.setEnabled(ready)
        self.again_button.setEnabled(ready and walk.can_backward_again)
        for widget in (self.skip_box, self.retain_box, self.repeat_box, self.lr_spin):
            widget.setEnabled(between)
        if ready:
            iteration, line = walk.position
            self.iteration_label.setText(f"Iteration {iteration}  ·  next: line {line + 1}")
            self.listing.set_lines(
                [("loss.backward(retain_graph=True)" if i == BACKWARD and walk.retain_graph else text)
                 for i, text in enumerate(walk.lines)],
                skipped={ZERO_GRAD} if walk.skip_zero_grad else set())
        else:
            self.iteration_label.setText("")

    # -- settings ----------------------------------------------------------------------------
    def _set_toggle(self, field: str, on: bool) -> None:
        if self.walk is None:
            return
        try:
            setattr(self.walk, field, on)
        except ValueError as exc:
            self.report.show_message("This setting waits for the next iteration.", error=str(exc))
        self._sync_controls()

    def _set_lr(self, value: float) -> None:
        if self.walk is None:
            return
        try:
            set_lr(self.walk, value)
        except ValueError as exc:
            self.report.show_message("The learning rate waits for the next iteration.", error=str(exc))

    # -- Qt --------------------------------------------------------------------------------
    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        if not self._started:
            self._fit_left_column()
            self.reset()

    def keyPressEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if event.key() in (Qt.Key.Key_PageDown, Qt.Key.Key_Right) and not event.modifiers():
            self.advance()
        elif event.key() == Qt.Key.Key_Home and not event.modifiers():
            self.back_to_start()
        else:
            super().keyPressEvent(event)


def _boxed(caption: QLabel, widget: QWidget) -> QWidget:
    box = QWidget()
    v = QVBoxLayout(box)
    v.setContentsMargins(4, 4, 4, 2)
    v.setSpacing(2)
    v.addWidget(caption)
    v.addWidget(widget, 1)
    return box


def _set_points(widget: QWidget, points: float, bold: bool = False) -> None:
    font = QFont(widget.font())
    font.setPointSizeF(points)
    font.setBold(bold)
    widget.setFont(font)
