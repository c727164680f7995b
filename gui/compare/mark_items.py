"""Marks drawn on a graph panel's boxes: a coloured outline with the pair's number, or a
dashed outline with a caption ("lost in static graph", "not in this run").

Each mark is a child of its node's item, so it shows and hides with the box as the scene
steps, and goes away with the scene when the panel lays out again.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QApplication, QGraphicsItem

from gradstudio.core.compare.marks import PAIRED, Mark

OUTLINE_GAP = 4.0


def mark_font(presentation: bool) -> QFont:
    family = QApplication.font().family() if QApplication.instance() else "DejaVu Sans"
    font = QFont(family)
    font.setPixelSize(17 if presentation else 13)
    font.setWeight(QFont.Weight.Bold)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    return font


class MarkItem(QGraphicsItem):
    """The mark of one box; `box` is the node's rectangle in the node item's coordinates."""

    def __init__(self, mark: Mark, box: QRectF, font: QFont, background: QColor, parent: QGraphicsItem):
        super().__init__(parent)
        self.mark = mark
        self.box = QRectF(box)
        self.font = font
        self.background = QColor(background)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        fm = QFontMetricsF(font)
        self._text_h = fm.height()
        outline = self.box.adjusted(-OUTLINE_GAP, -OUTLINE_GAP, OUTLINE_GAP, OUTLINE_GAP)
        self.outline = outline
        if mark.role == PAIRED:
            d = max(self._text_h + 6, fm.horizontalAdvance(mark.label) + 12)
            self.badge = QRectF(outline.left() - d / 2, outline.top() - d / 2, d, self._text_h + 6)
        else:
            w = fm.horizontalAdvance(mark.caption) + 14
            h = self._text_h + 4
            self.badge = QRectF(outline.center().x() - w / 2, outline.bottom() + 1, w, h)  # under the box
        self._bounds = outline.united(self.badge).adjusted(-3, -3, 3, 3)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option, widget=None) -> None:
        colour = QColor(self.mark.colour)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        pen = QPen(colour, 3.0)
        if self.mark.role != PAIRED:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(self.outline, 7, 7)
        painter.setPen(QPen(self.background, 1.5))
        painter.setBrush(QBrush(colour))
        r = self.badge.height() / 2
        painter.drawRoundedRect(self.badge, r, r)
        painter.setPen(QColor("white"))
        painter.setFont(self.font)
        text = self.mark.label if self.mark.role == PAIRED else self.mark.caption
        painter.drawText(self.badge, Qt.AlignmentFlag.AlignCenter, text)


def apply_marks(scene, marks: dict[str, Mark], presentation: bool = False) -> list[MarkItem]:
    """Put `marks` on the scene's node items (ids missing from the scene are skipped)."""
    if scene is None:
        return []
    font = mark_font(presentation)
    background = scene.style.background
    items = []
    for nid, mark in marks.items():
        node = scene.nodes.get(nid)
        if node is None:
            continue
        items.append(MarkItem(mark, node.rect, font, background, node))
    return items
