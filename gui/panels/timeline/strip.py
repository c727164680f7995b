"""The event strip: one coloured mark per tape event and a cursor on the current one."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPalette, QPen, QPolygonF
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from gradstudio.core import stepping

from .model import CATEGORY_COLORS, step_at

MARGIN_X = 8  # room for the cursor's triangle at both ends
TOP, BOTTOM = 9, 3  # the cursor's triangle sits in the top margin
# A mark's share of the strip's height: events without a node matter less, so they are shorter.
_HEIGHT = {stepping.NO_NODE: 0.45, stepping.CONTROL: 0.75}


class TimelineStrip(QWidget):
    """Click or drag to ask for a step; the panel passes it on to the Session."""

    sig_step_requested = Signal(int)
    """The user clicked or dragged to this event."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._categories: list[str] = []
        self._texts: list[str] = []
        self._step = 0
        self._scale = 1.0
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    # -- model -------------------------------------------------------------------------
    def set_events(self, categories: list[str], texts: list[str] | None = None) -> None:
        """One category per event (and optionally a tooltip line per event)."""
        self._categories = list(categories)
        self._texts = list(texts or [])
        self.update()

    def set_step(self, step: int) -> None:
        if step != self._step:
            self._step = step
            self.update()

    def set_font_scale(self, f: float) -> None:
        self._scale = f
        self.updateGeometry()
        self.update()

    # -- geometry ----------------------------------------------------------------------
    def mark_count(self) -> int:
        return len(self._categories)

    def mark_rect(self, k: int) -> QRectF:
        """The full-height slot of event k, in widget coordinates."""
        x0, w = self._track()
        n = max(1, len(self._categories))
        return QRectF(x0 + k * w / n, TOP, w / n, self.height() - TOP - BOTTOM)

    def step_at(self, x: float) -> int:
        x0, w = self._track()
        return step_at(x - x0, w, len(self._categories))

    def _track(self) -> tuple[float, float]:
        return MARGIN_X, max(1.0, self.width() - 2 * MARGIN_X)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(400, round(40 * self._scale))

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(80, round(30 * self._scale))

    # -- painting ----------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802
        p = QPainter(self)
        pal = self.palette()
        x0, w = self._track()
        track = QRectF(x0, TOP, w, self.height() - TOP - BOTTOM)
        p.fillRect(track, pal.color(QPalette.ColorRole.AlternateBase))
        n = len(self._categories)
        if n:
            slot = w / n
            gap = 1.0 if slot >= 4 else 0.0
            for k, cat in enumerate(self._categories):
                r = self.mark_rect(k)
                h = r.height() * _HEIGHT.get(cat, 1.0)
                p.fillRect(QRectF(r.x(), r.bottom() - h, max(1.0, slot - gap), h), QColor(CATEGORY_COLORS[cat]))
            self._paint_cursor(p, self.mark_rect(min(self._step, n - 1)))
        p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(track)
        p.end()

    def _paint_cursor(self, p: QPainter, r: QRectF) -> None:
        fg = self.palette().color(QPalette.ColorRole.WindowText)
        cx = r.center().x()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        if r.width() >= 5:  # wide marks: outline the current one
            p.setPen(QPen(fg, 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r.adjusted(-1, -1, 1, 1))
        else:
            p.setPen(QPen(fg, 2))
            p.drawLine(QPointF(cx, r.top()), QPointF(cx, r.bottom()))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(fg)
        p.drawPolygon(QPolygonF([QPointF(cx - 6, 0), QPointF(cx + 6, 0), QPointF(cx, TOP - 1)]))
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)

    # -- mouse -------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() == Qt.MouseButton.LeftButton and self._categories:
            self.sig_step_requested.emit(self.step_at(event.position().x()))

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        if not self._categories:
            return
        k = self.step_at(event.position().x())
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.sig_step_requested.emit(k)
        if k < len(self._texts):
            QToolTip.showText(event.globalPosition().toPoint(), f"step {k + 1}: {self._texts[k]}", self)
