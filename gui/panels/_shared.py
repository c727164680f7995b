"""Small things the panels share: listening to the Session safely, quiet updates, elided labels."""

from __future__ import annotations

from contextlib import contextmanager

from PySide6.QtCore import QObject, QSignalBlocker, Qt
from PySide6.QtGui import QColor, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QLabel, QSizePolicy, QTableWidget, QWidget


def observe(widget: QObject, signal, slot) -> None:
    """Connect `slot` to a psygnal `signal` and disconnect it when Qt destroys `widget`.

    psygnal holds bound methods weakly, but a PySide wrapper can outlive its C++ widget,
    and a slot called then raises RuntimeError.
    """
    signal.connect(slot)
    widget.destroyed.connect(lambda *_: signal.disconnect(slot, missing_ok=True))


@contextmanager
def blocked(*widgets: QObject):
    """Push model values into widgets without their change signals echoing back."""
    blockers = [QSignalBlocker(w) for w in widgets]
    try:
        yield
    finally:
        for b in blockers:
            b.unblock()


class ElidedLabel(QLabel):
    """One line that ends in "…" when it does not fit, instead of widening its parent;
    the whole text is the tooltip."""

    def __init__(self, text: str = "", parent=None):
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextFormat(Qt.TextFormat.PlainText)
        self._full = ""
        self.set_full_text(text)

    def set_full_text(self, text: str) -> None:
        self._full = text
        self.setToolTip(text)
        self._elide()

    def full_text(self) -> str:
        return self._full

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._elide()

    def _elide(self) -> None:
        room = max(20, self.contentsRect().width() - 2 * self.margin())
        self.setText(self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideRight, room))


def read_only_table(parent: QWidget, rows: int, columns: int) -> QTableWidget:
    """A compact table that only shows values: no editing, selection, focus or grid."""
    t = QTableWidget(rows, columns, parent)
    t.verticalHeader().hide()
    t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    t.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
    t.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    t.setShowGrid(False)
    t.setAlternatingRowColors(True)
    t.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    return t


@contextmanager
def filled_shapes(size: int, colour: QColor, ratio: float = 2.0):
    """A transparent `size`×`size` pixmap (sharp on high-DPI screens) and a painter that
    fills shapes with `colour`, no outline: `with filled_shapes(16, c) as (pm, p): p.drawEllipse(...)`."""
    pm = QPixmap(int(size * ratio), int(size * ratio))
    pm.setDevicePixelRatio(ratio)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(colour)
    try:
        yield pm, p
    finally:
        p.end()
