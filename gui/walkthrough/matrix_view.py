"""The selected parameter up close: its first rows and columns as small matrices (the
weights and .grad), or its first elements one per row as an equation.

After `optimizer.step()` each row reads `old − lr·grad = new`, every number printed to
the same decimals so the class can check it by eye; after an accumulating backward each
row shows both gradients and their ratio. Full precision on hover.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.walkthrough import elementwise_ratio
from gradstudio.core.walkthrough.describe import shape_text
from gradstudio.core.walkthrough.updates import follows_sgd_rule

from .inspection import COMPARE, STEP, Inspection
from .numbers import as_array, decimals_for, fixed, full, grid, short

MAX_ROWS, MAX_COLS = 4, 3
ELEMENTS = 6  # rows of the equation table
BASE_POINTS = 10.0
_GOOD, _BAD = QColor(46, 160, 67), QColor(214, 48, 49)


def _style_compact(t: QTableWidget, points: float) -> None:
    """Read-only, no scroll bars, sized to its cells later by `_fit`."""
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    t.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    font = QFont(t.font())
    font.setPointSizeF(points)
    t.setFont(font)
    small = QFont(font)
    small.setPointSizeF(points * 0.85)
    for header in (t.horizontalHeader(), t.verticalHeader()):
        header.setFont(small)


def _fit(t: QTableWidget) -> None:
    t.resizeColumnsToContents()
    t.resizeRowsToContents()
    vertical = 0 if t.verticalHeader().isHidden() else t.verticalHeader().sizeHint().width()
    width = vertical + sum(t.columnWidth(c) for c in range(t.columnCount())) + 2 * t.frameWidth()
    height = t.horizontalHeader().sizeHint().height() + sum(t.rowHeight(r) for r in range(t.rowCount())) + 2 * t.frameWidth()
    t.setFixedSize(width + 2, height + 2)


def _value_item(v, text: str, tip: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setToolTip(tip)
    item.setData(Qt.ItemDataRole.UserRole, float(v))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class MatrixBlock(QWidget):
    """A title over the top-left corner of a tensor."""

    def __init__(self, title: str, values: np.ndarray | None, fmt, points: float, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = QLabel(title, self)
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        bold = QFont(self.font())
        bold.setPointSizeF(points)
        bold.setBold(True)
        self.title.setFont(bold)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        self.table: QTableWidget | None = None
        if values is None:
            none = QLabel("None", self)
            none.setToolTip("no .grad yet")
            layout.addWidget(none, 0, Qt.AlignmentFlag.AlignCenter)
            return
        corner = values[:MAX_ROWS, :MAX_COLS]
        t = QTableWidget(*corner.shape, self)
        _style_compact(t, points)
        t.setHorizontalHeaderLabels([str(c) for c in range(corner.shape[1])])
        t.setVerticalHeaderLabels([str(r) for r in range(corner.shape[0])])
        for r in range(corner.shape[0]):
            for c in range(corner.shape[1]):
                v = corner[r, c]
                t.setItem(r, c, _value_item(v, fmt(float(v)), f"{title} [{r}, {c}] = {full(v)}"))
        _fit(t)
        self.table = t
        layout.addWidget(t)

    def text(self, r: int, c: int) -> str:
        return self.table.item(r, c).text()

    def value(self, r: int, c: int) -> float:
        return self.table.item(r, c).data(Qt.ItemDataRole.UserRole)


def _index_text(flat: int, shape: tuple) -> str:
    if not shape:
        return "[]"
    index = []
    for size in reversed(shape):
        index.append(flat % size)
        flat //= size
    return "[" + ", ".join(str(i) for i in reversed(index)) + "]"


class EquationTable(QTableWidget):
    """The first elements, one per row: columns of numbers with − and = between them."""

    def __init__(self, shape: tuple, columns: list[tuple[str, str, list, object]], points: float,
                 check: list[bool] | None = None, parent: QWidget | None = None):
        """columns: (operator before it, title, values, format); check: a ✓/✗ per row."""
        n = min(len(values) for _, _, values, _ in columns)
        n_cols = 1 + sum(2 if op else 1 for op, *_ in columns) + (1 if check is not None else 0)
        super().__init__(n, n_cols, parent)
        _style_compact(self, points)
        self.verticalHeader().hide()
        self.setShowGrid(False)
        self.titles: list[str] = []
        headers = ["element"]
        for op, title, *_ in columns:
            if op:
                headers.append("")
            headers.append(title)
            self.titles.append(title)
        if check is not None:
            headers.append("")
        self.setHorizontalHeaderLabels(headers)
        self._column_of: dict[str, int] = {}
        for r in range(n):
            index = QTableWidgetItem(_index_text(r, shape))
            self.setItem(r, 0, index)
            c = 1
            for op, title, values, fmt in columns:
                if op:
                    sign = QTableWidgetItem(op)
                    sign.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                    self.setItem(r, c, sign)
                    c += 1
                self._column_of[title] = c
                v = values[r]
                self.setItem(r, c, _value_item(v, fmt(float(v)), f"{title} {_index_text(r, shape)} = {full(v)}"))
                c += 1
            if check is not None:
                mark = QTableWidgetItem("✓" if check[r] else "✗")
                mark.setForeground(_GOOD if check[r] else _BAD)
                mark.setToolTip("new = old − lr·grad for this element" if check[r] else "not the plain SGD rule")
                self.setItem(r, c, mark)
        _fit(self)

    def text(self, row: int, title: str) -> str:
        return self.item(row, self._column_of[title]).text()

    def value(self, row: int, title: str) -> float:
        return self.item(row, self._column_of[title]).data(Qt.ItemDataRole.UserRole)


class MatrixView(QWidget):
    """Shows one parameter of an `Inspection`: matrices, or an equation per element."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.scale = 1.0
        self.name: str | None = None
        self.blocks: dict[str, MatrixBlock] = {}
        self.equation: EquationTable | None = None
        self.heading = QLabel("Select a parameter in the table", self)
        self.heading.setWordWrap(True)
        self.check = QLabel(self)
        self.check.setWordWrap(True)
        self.check.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self._row = QHBoxLayout()
        self._row.setSpacing(8)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.heading)
        layout.addLayout(self._row)
        layout.addWidget(self.check)
        layout.addStretch(1)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        self._last: tuple[Inspection, str] | None = None

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        if self._last is not None:
            self.show_parameter(*self._last)

    def clear(self) -> None:
        self._last = None
        self.name = None
        self._empty_row()
        self.heading.setText("Select a parameter in the table")
        self.check.setText("")

    def _empty_row(self) -> None:
        while self._row.count():
            item = self._row.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        self.blocks = {}
        self.equation = None

    def show_parameter(self, ins: Inspection, name: str) -> None:
        self._last = (ins, name)
        self.name = name
        self._empty_row()
        points = BASE_POINTS * self.scale
        param = ins.params[name]
        shape = shape_text(param.shape) if param.dim() else "scalar"
        font = QFont(self.font())
        font.setPointSizeF(points)
        self.heading.setFont(font)
        self.check.setFont(font)
        self.check.setText("")
        self.check.setStyleSheet("")
        if ins.mode == STEP and name in ins.updates:
            self.heading.setText(f"{name}  [{shape}]  ·  first {min(ELEMENTS, param.numel())} elements")
            self._show_step(ins, name, points)
        elif ins.mode == COMPARE:
            self.heading.setText(f"{name}  [{shape}]  ·  first {min(ELEMENTS, param.numel())} elements")
            self._show_compare(ins, name, points)
        else:
            g = grid(param)
            rows, cols = g.shape
            self.heading.setText(f"{name}  [{shape}]  ·  first {min(rows, MAX_ROWS)} of {rows} rows, "
                                 f"{min(cols, MAX_COLS)} of {cols} columns")
            grad = ins.grads.get(name)
            self._add("w", g, short, points)
            self._add(".grad", None if grad is None else grid(grad), short, points)
        self._row.addStretch(1)

    def _show_step(self, ins: Inspection, name: str, points: float) -> None:
        u = ins.updates[name]
        old, new = _first(u.old), _first(u.new)
        if u.grad is None:
            self.check.setText(f"{name} has no .grad: SGD leaves it as it was")
            return
        lr_grad = _first(u.grad * ins.lr)
        decimals = decimals_for(float(np.abs(lr_grad).max()) if lr_grad.size else 0.0)

        def fmt(v: float) -> str:
            return fixed(v, decimals)

        flat_old, flat_grad, flat_new = (t.detach().reshape(-1)[:ELEMENTS] for t in (u.old, u.grad, u.new))
        check = [follows_sgd_rule(flat_old[k:k + 1], flat_grad[k:k + 1], flat_new[k:k + 1], ins.lr)
                 for k in range(len(old))]
        self.equation = EquationTable(tuple(u.shape), [
            ("", "old", list(old), fmt), ("−", f"{ins.lr:g}·grad", list(lr_grad), fmt), ("=", "new", list(new), fmt),
        ], points, check=check, parent=self)
        self._row.addWidget(self.equation, 0, Qt.AlignmentFlag.AlignTop)
        ok = u.matches_sgd_rule
        self.check.setText(f"new = old − {ins.lr:g}·grad for every element of {name} "
                           + ("✓" if ok else "✗ (not the plain SGD rule)"))
        self.check.setStyleSheet(f"color: {(_GOOD if ok else _BAD).name()}")

    def _show_compare(self, ins: Inspection, name: str, points: float) -> None:
        before, after = ins.before.get(name), ins.grads.get(name)
        if before is None or after is None:
            self.check.setText(f"{name}: no .grad to compare")
            return
        ratio = elementwise_ratio(before, after)
        self.equation = EquationTable(tuple(after.shape), [
            ("", f".grad after {ins.before_label}", list(_first(before)), short),
            ("", f".grad after {ins.after_label}", list(_first(after)), short),
            ("", "ratio", list(_first(ratio)), _ratio_text),
        ], points, parent=self)
        self._row.addWidget(self.equation, 0, Qt.AlignmentFlag.AlignTop)
        median = ins.ratios.get(name, math.nan)
        if not math.isnan(median):
            self.check.setText(f"median ratio ×{median:.4g}: backward added to .grad instead of replacing it")

    def _add(self, title: str, values, fmt, points: float) -> None:
        block = MatrixBlock(title, values, fmt, points, self)
        self.blocks[title] = block
        self._row.addWidget(block, 0, Qt.AlignmentFlag.AlignTop)


def _first(t) -> np.ndarray:
    return as_array(t).reshape(-1)[:ELEMENTS]


def _ratio_text(v: float) -> str:
    return "—" if math.isnan(v) else f"×{v:.4g}"
