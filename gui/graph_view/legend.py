"""The key under the graph: what each box colour means, and the gradient colour scale
(log-scaled norms, from the smallest to the largest gradient of this recording).

A plain widget, not a scene item, so it stays put and readable while the graph zooms.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QLinearGradient, QPainter, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from .colors import GRAD_STOPS, KIND_NAMES, Theme, kind_style, norm_to_t, theme
from .scene import Legend

BAR_W = 180


def fmt_norm(v: float) -> str:
    """Short and exact enough for a scale: 0.01, 0.5, 12, 3e-05."""
    if v == 0:
        return "0"
    if 1e-3 <= abs(v) < 1e4:
        return f"{v:.2g}" if abs(v) < 100 else f"{v:.0f}"
    m, e = f"{v:.1e}".split("e")
    m = m.rstrip("0").rstrip(".")
    return f"{m}e{int(e)}"


class LegendWidget(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.legend: Legend | None = None
        self.theme: Theme = theme("light")
        self.kinds = ("parameter", "input", "accumulate", "op", "output")
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.set_presentation(False)

    def set_presentation(self, on: bool) -> None:
        self._font = QFont(self.font())
        self._font.setPixelSize(18 if on else 11)
        self._line = 2.0 if on else 1.0  # swatch borders grow with the text
        self._fm = QFontMetricsF(self._font)
        self.setFixedHeight(round(self._fm.height() * 2 + 16))
        self.update()

    def set_legend(self, legend: Legend | None, kinds=None) -> None:
        self.legend = legend
        if kinds is not None:
            self.kinds = tuple(k for k in KIND_NAMES if k in set(kinds))
        self.update()

    def set_theme(self, name: str) -> None:
        self.theme = theme(name)
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(600, self.height())

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        try:
            self._paint(p)
        finally:
            p.end()

    def _paint(self, p: QPainter) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setFont(self._font)
        fm = self._fm
        th = self.theme
        text = QColor(th.text)
        p.fillRect(self.rect(), QColor(th.background))
        x, h = 8.0, fm.height()
        y = (self.height() - h) / 2
        caption = "‖grad‖ (log)"
        scale_w = BAR_W + 40 + (fm.horizontalAdvance(caption) if self.legend is not None and self.legend.has_grads else 0)
        for kind in self.kinds:  # swatches, as many as fit left of the colour scale
            ks = kind_style(th, kind)
            label = KIND_NAMES[kind]
            w = fm.horizontalAdvance(label) + 14
            if x + w > self.width() - scale_w:
                break
            r = QRectF(x, y - 2, w, h + 4)
            p.setPen(QPen(QColor(ks.border), (3.0 if kind == "output" else 1.0) * self._line))
            p.setBrush(QColor(ks.fill))
            p.drawRoundedRect(r, 4, 4)
            p.setPen(QColor(ks.text))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, label)
            x += w + 6
        if self.legend is None or not self.legend.has_grads:
            return
        # the colour scale, right-aligned: caption, bar, tick labels under it
        lg = self.legend
        bar = QRectF(self.width() - BAR_W - 12, 6, BAR_W, h * 0.8)
        p.setPen(text)
        p.drawText(QRectF(bar.left() - fm.horizontalAdvance(caption) - 10, bar.top() - 2, fm.horizontalAdvance(caption) + 4,
                          bar.height() + 4), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, caption)
        grad = QLinearGradient(bar.topLeft(), bar.topRight())
        for t, rgb in GRAD_STOPS:
            grad.setColorAt(t, QColor(*rgb))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(grad)
        p.drawRoundedRect(bar, 3, 3)
        placed: list[tuple[float, float]] = []
        ticks = [(lg.lo, True), (lg.hi, True)] + [(v, False) for v in lg.ticks()]
        p.setPen(QPen(text, 1.0))
        for v, _is_end in ticks:
            t = norm_to_t(v, lg.lo, lg.hi)
            if t is None or math.isnan(t):
                continue
            cx = bar.left() + t * bar.width()
            label = fmt_norm(v)
            w = fm.horizontalAdvance(label)
            left = min(max(cx - w / 2, bar.left() - 4), bar.right() + 4 - w)
            if any(left < b + 14 and left + w > a - 14 for a, b in placed):
                continue
            placed.append((left, left + w))
            p.drawLine(round(cx), round(bar.bottom()), round(cx), round(bar.bottom() + 3))
            p.drawText(QRectF(left, bar.bottom() + 3, w + 1, h), Qt.AlignmentFlag.AlignCenter, label)
