"""The five lines of the training loop as a large code listing: an arrow at the line that
runs next, a band behind the line that just ran (red when it raised)."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetricsF,
    QPainter,
    QPalette,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from gradstudio.core.walkthrough import LINES

LOOP_HEADER = "for images, labels in loader:"
BASE_POINTS = 13.0
ARROW = "→"
_RAN = QColor(46, 160, 67)  # green band: the line ran
_FAILED = QColor(214, 48, 49)  # red band: the line raised
_NEXT = QColor(230, 145, 20)  # the arrow


def mono_font(points: float) -> QFont:
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setPointSizeF(points)
    return font


class CodeListing(QWidget):
    """Paints the loop; `set_state` moves the arrow and the band."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.lines: list[str] = list(LINES)
        self.next_line: int | None = 0
        self.highlighted: int | None = None  # the line just run
        self.failed = False
        self.skipped: set[int] = set()  # lines the loop leaves out (zero_grad, when skipped)
        self.scale = 1.0
        self.setFont(mono_font(BASE_POINTS))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    # -- state ---------------------------------------------------------------------------
    def set_state(self, next_line: int | None, highlighted: int | None, failed: bool = False) -> None:
        self.next_line, self.highlighted, self.failed = next_line, highlighted, failed
        self.update()

    def set_lines(self, lines: list[str], skipped: set[int] | None = None) -> None:
        """The code as it runs now (`loss.backward(retain_graph=True)`), with skipped lines."""
        self.lines = list(lines)
        self.skipped = set(skipped or ())
        self.updateGeometry()
        self.update()

    def set_scale(self, scale: float) -> None:
        self.scale = scale
        self.setFont(mono_font(BASE_POINTS * scale))
        self.updateGeometry()
        self.update()

    # -- geometry ------------------------------------------------------------------------
    def _metrics(self) -> tuple[QFontMetricsF, float, float]:
        fm = QFontMetricsF(self.font())
        row = fm.height() * 1.45
        gutter = fm.horizontalAdvance("5 → ")
        return fm, row, gutter

    def _text(self, i: int) -> str:
        return self.lines[i] + ("   # skipped" if i in self.skipped else "")

    def sizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        fm, row, gutter = self._metrics()
        pad = fm.height() * 0.6
        indent = fm.horizontalAdvance("    ")
        widest = max([fm.horizontalAdvance(LOOP_HEADER)] +
                     [indent + fm.horizontalAdvance(self._text(i)) for i in range(len(self.lines))])
        return QSize(int(2 * pad + gutter + widest) + 2, int(2 * pad + row * (len(self.lines) + 1)) + 2)

    def minimumSizeHint(self) -> QSize:  # noqa: N802 (Qt naming)
        hint = self.sizeHint()
        return QSize(min(hint.width(), 240), hint.height())

    # -- painting ------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        pal = self.palette()
        fm, row, gutter = self._metrics()
        pad = fm.height() * 0.6
        indent = fm.horizontalAdvance("    ")
        text_colour = pal.color(QPalette.ColorRole.Text)
        dim = _mix(text_colour, pal.color(QPalette.ColorRole.Base), 0.5)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.setBrush(pal.color(QPalette.ColorRole.Base))
        p.drawRoundedRect(QRectF(self.rect()).adjusted(0.5, 0.5, -0.5, -0.5), 6, 6)
        p.setFont(self.font())

        p.setPen(dim)
        p.drawText(QRectF(pad + gutter, pad, self.width(), row), Qt.AlignmentFlag.AlignVCenter, LOOP_HEADER)
        for i in range(len(self.lines)):
            top = pad + row * (i + 1)
            if i == self.highlighted:
                band = QColor(_FAILED if self.failed else _RAN)
                band.setAlpha(70)
                p.setPen(Qt.PenStyle.NoPen)
                p.setBrush(band)
                p.drawRoundedRect(QRectF(pad * 0.5, top, self.width() - pad, row), 4, 4)
            p.setPen(dim)
            p.drawText(QRectF(pad, top, gutter, row), Qt.AlignmentFlag.AlignVCenter, str(i + 1))
            if i == self.next_line:
                p.setPen(_NEXT)
                p.drawText(QRectF(pad + fm.horizontalAdvance("5 "), top, gutter, row),
                           Qt.AlignmentFlag.AlignVCenter, ARROW)
            font = QFont(self.font())
            font.setStrikeOut(i in self.skipped)
            font.setBold(i == self.highlighted)
            p.setFont(font)
            p.setPen(dim if i in self.skipped else text_colour)
            p.drawText(QRectF(pad + gutter + indent, top, self.width(), row), Qt.AlignmentFlag.AlignVCenter,
                       self.lines[i])
            if i in self.skipped:
                p.setFont(self.font())
                x = pad + gutter + indent + QFontMetricsF(font).horizontalAdvance(self.lines[i])
                p.drawText(QRectF(x, top, self.width(), row), Qt.AlignmentFlag.AlignVCenter, "   # skipped")
            p.setFont(self.font())
        p.end()


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(*(x * (1 - t) + y * t for x, y in zip(a.getRgbF()[:3], b.getRgbF()[:3])))
