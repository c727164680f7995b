"""A small overview in the view's corner: where you are in a graph bigger than the screen.

It draws the shown node boxes as flat rectangles (one `drawRects` call per colour, so it
stays cheap at 20,000 nodes), caches that picture until the step or theme changes, and puts
the visible area on top. Click or drag in it to move there.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter, QPen, QPixmap
from PySide6.QtWidgets import QGraphicsView, QWidget

MAX_W, MAX_H = 220, 170
INSET = 10  # from the view's corner


class Minimap(QWidget):
    def __init__(self, view: QGraphicsView):
        super().__init__(view)
        self.view = view
        self._pixmap: QPixmap | None = None
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip("Overview: click or drag to move")
        self.hide()

    # -- geometry ------------------------------------------------------------------------
    def _scene_rect(self) -> QRectF:
        scene = self.view.scene()
        return scene.sceneRect() if scene is not None else QRectF()

    def _scale(self) -> float:
        r = self._scene_rect()
        if r.isEmpty():
            return 1.0
        return min((self.width() - 8) / r.width(), (self.height() - 8) / r.height())

    def _to_map(self, p: QPointF) -> QPointF:
        r, s = self._scene_rect(), self._scale()
        ox = (self.width() - r.width() * s) / 2
        oy = (self.height() - r.height() * s) / 2
        return QPointF(ox + (p.x() - r.left()) * s, oy + (p.y() - r.top()) * s)

    def _to_scene(self, p: QPointF) -> QPointF:
        r, s = self._scene_rect(), self._scale()
        ox = (self.width() - r.width() * s) / 2
        oy = (self.height() - r.height() * s) / 2
        return QPointF(r.left() + (p.x() - ox) / s, r.top() + (p.y() - oy) / s)

    def relayout(self) -> None:
        """Size to the scene's aspect ratio, sit in the bottom-right corner, and show only
        when the scene does not fit in the view."""
        r = self._scene_rect()
        vp = self.view.viewport().geometry()
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        needed = not r.isEmpty() and (r.width() > visible.width() + 1 or r.height() > visible.height() + 1)
        if not needed or vp.width() < 3 * MAX_W // 2 or vp.height() < MAX_H:
            self.hide()
            return
        s = min(MAX_W / r.width(), MAX_H / r.height())
        size = QSize(max(40, round(r.width() * s) + 8), max(40, round(r.height() * s) + 8))
        if size != self.size():
            self.resize(size)
            self._pixmap = None
        self.move(vp.right() - size.width() - INSET, vp.bottom() - size.height() - INSET)
        self.show()
        self.raise_()
        self.update()

    def invalidate(self) -> None:
        self._pixmap = None
        if self.isVisible():
            self.update()

    # -- painting ------------------------------------------------------------------------
    def _render(self) -> QPixmap:
        scene = self.view.scene()
        pm = QPixmap(self.size())
        style = getattr(scene, "style", None)
        bg = QColor(style.theme.minimap_bg) if style is not None else QColor(255, 255, 255, 220)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(QColor(128, 128, 128, 160), 1))
        p.setBrush(bg)
        p.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 6, 6)
        if hasattr(scene, "minimap_shapes"):
            fills, boxes = scene.minimap_shapes()
            r, s = self._scene_rect(), self._scale()
            origin = self._to_map(r.topLeft())
            p.translate(origin)
            p.scale(s, s)
            p.translate(-r.left(), -r.top())
            p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
            if style is not None:
                p.setPen(QPen(style.cluster_pen.color(), 0))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRects(boxes)
            p.setPen(Qt.PenStyle.NoPen)
            for color, rects in fills:
                p.setBrush(color.darker(115))
                p.drawRects(rects)
        p.end()
        return pm

    def paintEvent(self, event) -> None:
        if self._pixmap is None or self._pixmap.size() != self.size():
            self._pixmap = self._render()
        p = QPainter(self)
        p.drawPixmap(0, 0, self._pixmap)
        visible = self.view.mapToScene(self.view.viewport().rect()).boundingRect()
        a, b = self._to_map(visible.topLeft()), self._to_map(visible.bottomRight())
        frame = QRectF(a, b).intersected(QRectF(1, 1, self.width() - 2, self.height() - 2))
        style = getattr(self.view.scene(), "style", None)
        color = QColor(style.theme.minimap_view) if style is not None else QColor("#1565c0")
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(QPen(color, 1.5))
        fill = QColor(color)
        fill.setAlpha(40)
        p.setBrush(fill)
        p.drawRect(frame)
        p.end()

    # -- moving ----------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.view.centerOn(self._to_scene(event.position()))
            event.accept()

    def mouseMoveEvent(self, event) -> None:
        if event.buttons() & Qt.MouseButton.LeftButton:
            self.view.centerOn(self._to_scene(event.position()))
            event.accept()

    def wheelEvent(self, event) -> None:
        event.accept()
