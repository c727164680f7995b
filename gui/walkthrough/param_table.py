"""One row per parameter: its gradient after a line, or its step (old, grad, new, Δ and the
SGD rule check), or two gradients side by side with their ratio. Cells show four
significant digits; the tooltip shows full precision; Qt.UserRole holds the numbers."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from gradstudio.core.walkthrough import update_rule
from gradstudio.core.walkthrough.describe import shape_text

from .inspection import COMPARE, STEP, Inspection
from .numbers import first_values, full, norm, sample_text, short, values_tooltip

BASE_POINTS = 10.0
NO_GRAD = "—"
NO_GRAD_TIP = ".grad is None: no backward has reached this parameter yet (or zero_grad cleared it)"
_GOOD, _BAD = QColor(46, 160, 67), QColor(214, 48, 49)


class ParamTable(QTableWidget):
    sig_selected = Signal(str)
    """The user picked a parameter (its name)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, 0, parent)
        self.inspection: Inspection | None = None
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAlternatingRowColors(True)
        self.setWordWrap(False)
        self.horizontalHeader().setStretchLastSection(True)
        self.scale = 1.0
        self.itemSelectionChanged.connect(self._on_selection)

    # -- reading (what the user sees) ----------------------------------------------------
    def headers(self) -> list[str]:
        return [self.horizontalHeaderItem(c).text() for c in range(self.columnCount())]

    def column(self, title: str) -> int:
        """The column whose header starts with `title`; -1 if none."""
        return next((c for c, h in enumerate(self.headers()) if h.startswith(title)), -1)

    def row_of(self, name: str) -> int:
        return next((r for r in range(self.rowCount()) if self.item(r, 0).text() == name), -1)

    def cell(self, name: str, title: str) -> QTableWidgetItem | None:
        row, column = self.row_of(name), self.column(title)
        return self.item(row, column) if row >= 0 and column >= 0 else None

    def values(self, name: str, title: str) -> list[float]:
        """The numbers behind a cell (full precision), by parameter and column title."""
        item = self.cell(name, title)
        return list(item.data(Qt.ItemDataRole.UserRole) or []) if item is not None else []

    def selected_name(self) -> str | None:
        rows = self.selectionModel().selectedRows()
        return self.item(rows[0].row(), 0).text() if rows else None

    def select(self, name: str) -> None:
        row = self.row_of(name)
        if row >= 0:
            self.selectRow(row)

    # -- filling -------------------------------------------------------------------------
    def show_inspection(self, ins: Inspection) -> None:
        keep = self.selected_name()
        self.inspection = ins
        self.blockSignals(True)
        try:
            self.clear()
            columns = self._columns(ins)
            self.setColumnCount(len(columns))
            self.setHorizontalHeaderLabels([c[0] for c in columns])
            for c, (_, tip) in enumerate(columns):
                self.horizontalHeaderItem(c).setToolTip(tip)
            self.setRowCount(len(ins.names))
            for r, name in enumerate(ins.names):
                for c, cell in enumerate(self._row(ins, name)):
                    self.setItem(r, c, cell)
            row = self.row_of(keep) if keep else -1
            self.selectRow(max(row, 0))
        finally:
            self.blockSignals(False)
        self._fit_columns()

    def _columns(self, ins: Inspection) -> list[tuple[str, str]]:
        head = [("Parameter", "the parameter's name in model.named_parameters()"), ("Shape", "")]
        if ins.mode == COMPARE:
            return head + [
                ("ratio", "median of (after / before) over the elements: 2 means the same gradient was added again"),
                (f".grad after {ins.before_label}", "the first values of .grad before this backward"),
                (f".grad after {ins.after_label}", "the first values of .grad now: the old gradient plus the new"),
            ]
        if ins.mode == STEP:
            return head + [
                ("old [0]", "the first element before optimizer.step()"),
                ("grad [0]", "the first element of .grad"),
                ("new [0]", "the first element after optimizer.step()"),
                ("Δ [0]", "new − old for the first element"),
                ("rule", f"does every element follow {update_rule('SGD', ins.lr)} (up to float rounding)?"),
            ]
        return head + [("‖grad‖", "the L2 norm of the whole gradient"),
                       ("grad (first values)", "the first elements of .grad in memory order")]

    def _row(self, ins: Inspection, name: str) -> list[QTableWidgetItem]:
        param = ins.params[name]
        cells = [_text(name, name), _text(shape_text(param.shape) if param.dim() else "scalar", "")]
        grad = ins.grads.get(name)
        if ins.mode == COMPARE:
            before = ins.before.get(name)
            ratio = ins.ratios.get(name, math.nan)
            known = not math.isnan(ratio)
            return cells + [
                _number(ratio, f"×{ratio:.4g}" if known else "—",
                        f"median ratio {full(ratio)}" if known else "nothing to compare"),
                _sample(before, f".grad after {ins.before_label}"),
                _sample(grad, f".grad after {ins.after_label}"),
            ]
        if ins.mode == STEP:
            u = ins.updates.get(name)
            if u is None:
                return cells + [_text(NO_GRAD, "not trainable") for _ in range(5)]
            for label, t in (("old", u.old), ("grad", u.grad), ("new", u.new), ("Δ", u.delta)):
                cells.append(_first(t, f"{label} of {name}"))
            check = _text("✓" if u.matches_sgd_rule else "✗",
                          "new = old − lr·grad for every element" if u.matches_sgd_rule
                          else "some element does not follow the plain SGD rule")
            check.setForeground(_GOOD if u.matches_sgd_rule else _BAD)
            check.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            return cells + [check]
        g_norm = norm(grad)
        cells.append(_number(g_norm, short(g_norm), f"‖grad‖ = {full(g_norm)}") if g_norm is not None
                     else _text(NO_GRAD, NO_GRAD_TIP))
        return cells + [_sample(grad, f".grad of {name}")]

    # -- looks ---------------------------------------------------------------------------
    def set_scale(self, scale: float) -> None:
        self.scale = scale
        font = QFont(self.font())
        font.setPointSizeF(BASE_POINTS * scale)
        self.setFont(font)
        self.horizontalHeader().setFont(font)
        self.verticalHeader().setDefaultSectionSize(int(font.pointSizeF() * 2.3))
        self._fit_columns()

    def _fit_columns(self) -> None:
        header = self.horizontalHeader()
        for c in range(self.columnCount()):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)

    def _on_selection(self) -> None:
        name = self.selected_name()
        if name is not None:
            self.sig_selected.emit(name)


def _text(text: str, tip: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    if tip:
        item.setToolTip(tip)
    return item


def _number(value: float | None, text: str, tip: str) -> QTableWidgetItem:
    item = _text(text, tip)
    item.setData(Qt.ItemDataRole.UserRole, [] if value is None else [float(value)])
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _sample(t, what: str) -> QTableWidgetItem:
    if t is None:
        return _text(NO_GRAD, NO_GRAD_TIP)
    values = first_values(t)
    item = _text(sample_text(values, t.numel()), values_tooltip(what, t))
    item.setData(Qt.ItemDataRole.UserRole, [float(v) for v in values])
    return item


def _first(t, what: str) -> QTableWidgetItem:
    if t is None:
        return _text(NO_GRAD, NO_GRAD_TIP)
    v = first_values(t, 1)
    if not v:
        return _text("empty", f"{what}: no elements")
    return _number(float(v[0]), short(float(v[0])), values_tooltip(what, t))
