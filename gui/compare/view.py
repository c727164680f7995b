"""Dynamic versus static: the tape's graph beside what torch.export or torch.jit.trace kept.

Pick a scenario and a capture; the work (recording, capturing, matching) runs on a worker,
one job at a time: a request made meanwhile waits for it and the newest one wins. Results
are kept per scenario and capture, so switching back is instant; "Run again" records the
dynamic side once more while the static graph stays as it was captured.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.compare import EXPORT, TRACE
from gradstudio.core.compare import comparisons as cmp
from gradstudio.core.compare.comparisons import (
    BRANCH,
    CURRENT,
    DEPTH,
    NO_MODEL_HINT,
    SCENARIOS,
    Comparison,
    user_line,
)
from gradstudio.core.compare.marks import (
    LOST_COLOUR,
    LOST_TEXT,
    STATIC_ONLY_COLOUR,
    dynamic_marks,
    static_marks,
    unboxed_calls,
)
from gradstudio.core.session import Session

from ..workers import TaskRunner
from .findings import FindingsPane
from .graph_column import GraphColumn
from .graph_session import GraphSession

MAX_DYNAMIC = 3
HEADLINE_PT, HEADLINE_PT_PRESENTING = 17.0, 26.0
CONTROL_PT, CONTROL_PT_PRESENTING = 10.5, 15.0


class CompareView(QWidget):
    sig_shown = Signal(object)
    """A comparison is on screen (the `Comparison`); its graphs may still be laying out."""

    def __init__(self, session: Session, parent: QWidget | None = None, *, theme: str = "light"):
        super().__init__(parent)
        self.session = session
        self.theme = theme
        self.presentation = False
        self.scenario = CURRENT if session.live_model is not None else DEPTH
        self.method = EXPORT
        self.comparison: Comparison | None = None
        self.error: str | None = None  # the latest job's failure, shown instead of findings
        self._results: dict[tuple[str, str], Comparison] = {}
        self._live = session.live_model
        self._pending: tuple[str, str, bool] | None = None
        self._submitted = False  # a job was handed to the runner and its result is not back
        self._user_split = False
        self._runner = TaskRunner(self)
        self._runner.sig_finished.connect(self._on_done)
        self._runner.sig_failed.connect(self._on_failed)
        self._runner.sig_idle.connect(self._on_idle)
        self._build()
        self.session.sig_tape_changed.connect(self._on_session_tape)
        self._select_buttons()

    # -- widgets ---------------------------------------------------------------------------
    def _build(self) -> None:
        self.scenario_buttons: dict[str, QPushButton] = {}
        self.method_buttons: dict[str, QPushButton] = {}
        scenarios, methods = QButtonGroup(self), QButtonGroup(self)
        bar = QHBoxLayout()
        bar.setContentsMargins(8, 6, 8, 0)
        for key, text in SCENARIOS.items():
            b = QPushButton(text, self)
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, k=key: self.select_scenario(k))
            scenarios.addButton(b)
            self.scenario_buttons[key] = b
            bar.addWidget(b)
        bar.addSpacing(24)
        self.capture_label = QLabel("Capture with", self)
        bar.addWidget(self.capture_label)
        for method in (EXPORT, TRACE):
            b = QPushButton(method, self)
            b.setCheckable(True)
            b.clicked.connect(lambda _=False, m=method: self.set_method(m))
            methods.addButton(b)
            self.method_buttons[method] = b
            bar.addWidget(b)
        bar.addSpacing(24)
        self.run_again_button = QPushButton("Run again", self)
        self.run_again_button.setToolTip("Record the dynamic side once more; the static graph stays as captured")
        self.run_again_button.clicked.connect(self.run_again)
        bar.addWidget(self.run_again_button)
        self.busy_label = QLabel("Capturing…", self)
        self.spinner = QProgressBar(self)
        self.spinner.setRange(0, 0)
        self.spinner.setMaximumWidth(90)
        self.spinner.setTextVisible(False)
        bar.addWidget(self.spinner)
        bar.addWidget(self.busy_label)
        bar.addStretch(1)
        self._set_busy(False)
        checked = "QPushButton:checked { background: palette(highlight); color: palette(highlighted-text); }"
        for b in [*self.scenario_buttons.values(), *self.method_buttons.values()]:
            b.setStyleSheet(checked)

        self.headline = QLabel(self)
        self.headline.setWordWrap(True)
        self.headline.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key = QLabel(self)
        self.key.setTextFormat(Qt.TextFormat.RichText)
        self._set_key("this run")

        self.dynamic_columns = [GraphColumn(GraphSession(), self, theme=self.theme) for _ in range(MAX_DYNAMIC)]
        self.static_column = GraphColumn(GraphSession(), self, theme=self.theme)
        dynamic = QWidget(self)
        row = QHBoxLayout(dynamic)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(2)
        for column in self.dynamic_columns:
            row.addWidget(column, 1)
        self.dynamic_heading = QLabel("Dynamic: what PyTorch recorded in each run", self)
        self.static_heading = QLabel("Static: one graph, captured once", self)
        left, right = QWidget(self), QWidget(self)
        lv, rv = QVBoxLayout(left), QVBoxLayout(right)
        for box, heading, body in ((lv, self.dynamic_heading, dynamic), (rv, self.static_heading, self.static_column)):
            box.setContentsMargins(2, 0, 2, 0)
            box.addWidget(heading)
            box.addWidget(body, 1)
        self.graphs = QSplitter(Qt.Orientation.Horizontal, self)
        self.graphs.addWidget(left)
        self.graphs.addWidget(right)
        self.graphs.setChildrenCollapsible(False)
        self.findings = FindingsPane(self)
        self.body = QSplitter(Qt.Orientation.Vertical, self)
        self.body.addWidget(self.graphs)
        self.body.addWidget(self.findings)
        self.body.setStretchFactor(0, 2)
        self.body.setStretchFactor(1, 1)
        self.body.splitterMoved.connect(self._on_split_dragged)

        content = QWidget(self)
        cv = QVBoxLayout(content)
        cv.setContentsMargins(8, 0, 8, 0)
        cv.addWidget(self.headline)
        cv.addWidget(self.key)
        cv.addWidget(self.body, 1)
        self.hint = QLabel(NO_MODEL_HINT, self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.pages = QStackedWidget(self)
        self.pages.addWidget(content)
        self.pages.addWidget(self.hint)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(bar)
        lay.addWidget(self.pages, 1)
        self._fonts()

    # -- public ----------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        """Work is running or waiting to run."""
        return self._runner.busy or self._pending is not None or self._submitted

    @property
    def ready(self) -> bool:
        """No work left and every graph shown is laid out."""
        if self.busy:
            return False
        return all(c.ready for c in self.visible_columns)

    @property
    def visible_columns(self) -> list[GraphColumn]:
        shown = [c for c in self.dynamic_columns if not c.isHidden()]
        return shown + ([self.static_column] if not self.static_column.isHidden() else [])

    @property
    def shown_dynamic(self) -> list[GraphColumn]:
        return [c for c in self.dynamic_columns if not c.isHidden()]

    @property
    def error_text(self) -> str:
        """A capture's error as shown: in place of the static graph, or below the graphs."""
        return self.static_column.refusal_text or self.findings.error_text

    @property
    def showing_hint(self) -> bool:
        return self.pages.currentWidget() is self.hint

    def select_scenario(self, key: str) -> None:
        """"current", "depth", "branch" or "rnn"."""
        if key not in SCENARIOS:
            raise ValueError(f"scenario must be one of {sorted(SCENARIOS)}, not {key!r}")
        self.scenario = key
        self._select_buttons()
        self._show_or_compute()

    def set_method(self, method: str) -> None:
        """torch.export or torch.jit.trace."""
        if method not in (EXPORT, TRACE):
            raise ValueError(f"capture method must be {EXPORT!r} or {TRACE!r}, not {method!r}")
        self.method = method
        self._select_buttons()
        self._show_or_compute()

    def run_again(self) -> None:
        """Record the dynamic side again (random depth: a new depth); the static side stays."""
        if self.scenario == CURRENT and self.session.live_model is None:
            return
        self._request(self.scenario, self.method, again=True)

    def refresh(self) -> None:
        """Show the selected scenario, computing it if needed (the tab became visible)."""
        self._show_or_compute()

    def set_presentation(self, on: bool) -> None:
        """Bigger text and graph boxes for a projector."""
        self.presentation = on
        self._fonts()
        self.findings.set_presentation(on)
        for column in self.dynamic_columns + [self.static_column]:
            column.set_presentation(on)

    def set_theme(self, name: str) -> None:
        self.theme = name
        for column in self.dynamic_columns + [self.static_column]:
            column.set_theme(name)

    def shutdown(self) -> None:
        """Stop observing the session and wait for the worker and the layouts (owner calls on close)."""
        try:
            self.session.sig_tape_changed.disconnect(self._on_session_tape)
        except (ValueError, RuntimeError):
            pass
        self._pending = None
        self._runner.shutdown()
        for column in self.dynamic_columns + [self.static_column]:
            column.shutdown()

    # -- requests --------------------------------------------------------------------------
    def _select_buttons(self) -> None:
        self.scenario_buttons[self.scenario].setChecked(True)
        self.method_buttons[self.method].setChecked(True)

    def _show_or_compute(self) -> None:
        if self.scenario == CURRENT and self.session.live_model is None:
            self.pages.setCurrentWidget(self.hint)
            self.run_again_button.setEnabled(False)
            return
        self.pages.setCurrentWidget(self.pages.widget(0))
        self.run_again_button.setEnabled(True)
        done = self._results.get((self.scenario, self.method))
        if done is not None:
            self._show(done)
        else:
            self._request(self.scenario, self.method, again=False)

    def _request(self, scenario: str, method: str, again: bool) -> None:
        if self._runner.busy or self._submitted:
            self._pending = (scenario, method, again)
            return
        work = self._work(scenario, method, again)
        if work is None:
            return
        self._submitted = True
        self._set_busy(True)
        self._runner.submit(work)

    def _work(self, scenario: str, method: str, again: bool):
        """The job for a request, with what it may reuse (never the widgets)."""
        previous = self._results.get((scenario, method))
        other = self._results.get((scenario, TRACE if method == EXPORT else EXPORT))
        if scenario == CURRENT:
            live = self.session.live_model
            if live is None:
                return None
            cached = previous.state if previous is not None and again else None
            return lambda: cmp.compare_live_model(live, method, cached)
        if scenario == DEPTH:
            seed, depth = previous.state if previous is not None else (1, None)
            if again:
                return lambda: cmp.compare_depth(method, seed + 1, avoid_depth=depth)
            return lambda: cmp.compare_depth(method, seed)
        reuse = None if again else (other.state if other is not None else None)
        if scenario == BRANCH:
            return lambda: cmp.compare_branch(method, reuse)
        return lambda: cmp.compare_rnn(method, reuse)

    def _set_busy(self, on: bool) -> None:
        self.busy_label.setVisible(on)
        self.spinner.setVisible(on)

    def _on_done(self, result: Comparison) -> None:
        self._submitted = False
        self.error = None
        key = (result.scenario, result.method)
        self._results[key] = result
        if result.scenario == DEPTH:  # the other capture's next run continues from this seed
            other = (DEPTH, TRACE if result.method == EXPORT else EXPORT)
            self._results.pop(other, None)
        if key == (self.scenario, self.method) and self._pending is None:
            self._show(result)

    def _on_failed(self, exc) -> None:
        self._submitted = False
        self.error = f"{type(exc).__name__}: {exc}"
        if self._pending is None:
            self.headline.setText(f"The comparison failed: {self.error}")
            self.findings.show_failure(self.error)

    def _on_idle(self) -> None:
        if self._submitted:
            return
        pending, self._pending = self._pending, None
        if pending is not None:
            scenario, method, again = pending
            if (scenario, method) == (self.scenario, self.method) and not again and (scenario, method) in self._results:
                self._show(self._results[(scenario, method)])
            else:
                self._request(scenario, method, again)
        if not self._submitted:
            self._set_busy(False)

    def _on_split_dragged(self, _pos: int, _index: int) -> None:
        self._user_split = True

    def _on_session_tape(self, _tape) -> None:
        """A new live model (a script ran, a model was opened): the current-model results are old."""
        if self.session.live_model is self._live:
            return
        self._live = self.session.live_model
        for method in (EXPORT, TRACE):
            self._results.pop((CURRENT, method), None)
        if self.scenario == CURRENT and self.isVisible():
            self._show_or_compute()

    # -- showing a result ------------------------------------------------------------------
    def _show(self, c: Comparison) -> None:
        previous = self.comparison
        self.comparison = c
        self.pages.setCurrentWidget(self.pages.widget(0))
        self.headline.setText(c.headline)
        for k, column in enumerate(self.dynamic_columns):
            if k >= len(c.runs):
                column.hide()
                continue
            run = c.runs[k]
            column.show()
            column.show_tape(run.tape)
            graph = column.session.graph
            compared = c.static.ok  # a refused capture: nothing to mark, the refusal says it all
            column.set_marks(dynamic_marks(run.tape, graph, run.match) if compared else {})
            column.set_title(run.title, " · ".join(p for p in (run.detail, f"{len(graph.nodes)} nodes") if p))
            column.set_note(unboxed_calls(run.tape, graph, run.match) if compared else [])
        self._show_static(c, previous)
        share = {1: 0.5, 2: 0.6}.get(len(c.runs), 0.72)  # the dynamic side's part of the width
        width = max(self.graphs.width(), 1000)
        self.graphs.setSizes([int(width * share), int(width * (1 - share))])
        if not self._user_split and self.body.height() > 300:  # until the user drags the divider
            part = 0.6 if c.refusal is not None else 0.7  # an error message needs room to be read
            self.body.setSizes([int(self.body.height() * part), int(self.body.height() * (1 - part))])
        refusal = c.refusal if c.static.ok else None  # else the static column shows it
        self.findings.show_findings(
            c.lost, c.facts, refusal.error if refusal else None, user_line(refusal) if refusal else None,
            f"{refusal.method}'s" if refusal else "The",
        )
        self.sig_shown.emit(c)

    def _show_static(self, c: Comparison, previous: Comparison | None) -> None:
        column = self.static_column
        column.set_title(c.static_title)
        if not c.static.ok:
            column.show_refusal(c.method, c.static.error, user_line(c.static))
            column.set_note([])
            return
        marks = static_marks(c.primary_run.match, f"not in {c.primary_name}")
        self._set_key(c.primary_name)
        same = (
            previous is not None and previous.static_graph is not None and previous.method == c.method
            and previous.scenario == c.scenario and column.session.graph is not None
            and [op.target for op in previous.static.ops] == [op.target for op in c.static.ops]
        )
        column.show_static(None if same else c.static_graph)
        column.set_marks(marks)
        note = "edges follow the order of the ops" if c.static_graph is not None and c.static_graph.approximate_edges else ""
        column.set_title(c.static_title, note)
        column.set_note([])

    # -- look ------------------------------------------------------------------------------
    def _set_key(self, run_name: str) -> None:
        self.key.setText(
            "Same number and colour: the same operation on both sides · "
            f"<span style='color:{LOST_COLOUR}'><b>red dashed</b>: {LOST_TEXT}</span> · "
            f"<span style='color:{STATIC_ONLY_COLOUR}'><b>orange dashed</b>: in the static graph, "
            f"not in {escape(run_name)}</span>"
        )

    def _fonts(self) -> None:
        big = self.presentation
        f = self.headline.font()
        f.setPointSizeF(HEADLINE_PT_PRESENTING if big else HEADLINE_PT)
        f.setBold(True)
        self.headline.setFont(f)
        f = self.hint.font()
        f.setPointSizeF(HEADLINE_PT_PRESENTING if big else HEADLINE_PT)
        self.hint.setFont(f)
        small = [self.key, self.capture_label, self.busy_label, self.run_again_button,
                 *self.scenario_buttons.values(), *self.method_buttons.values()]
        for w in small:
            f = w.font()
            f.setPointSizeF(CONTROL_PT_PRESENTING if big else CONTROL_PT)
            w.setFont(f)
        for heading in (self.dynamic_heading, self.static_heading):
            f = heading.font()
            f.setPointSizeF(CONTROL_PT_PRESENTING + 2 if big else CONTROL_PT + 1.5)
            f.setBold(True)
            heading.setFont(f)

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        if self.comparison is None or (self.scenario, self.method) not in self._results:
            self._show_or_compute()

