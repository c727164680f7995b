"""A laser pointer for lectures: a bright translucent ring that glides to the current step's
node(s), so the back row sees where to look without the lecturer touching the mouse.

It is an overlay of the scene, drawn under the boxes and labels so that no text is ever
crossed out, kept out of figures by default, and re-attached to every new scene the panel
builds.
"""

from __future__ import annotations

import math

from PySide6.QtCore import QEasingCurve, QObject, QPointF, QRectF, Qt, QVariantAnimation
from PySide6.QtGui import QColor, QGradient, QPainter, QPen, QRadialGradient
from PySide6.QtWidgets import QGraphicsEllipseItem

# Above edges (10-12) and module boxes, below module labels (15) and node boxes (20+): the
# ring shows in the gaps around the node and never covers a word of any label.
LASER_Z = 14.5
LASER_COLOR = QColor("#ff1744")
GLIDE_MS = 150
GAP = 7.0  # between a box's corners and the ring
# The ellipse passes through the box's corners when (1/KX)² + (1/KY)² = 1. A flat one keeps
# off the neighbours in the same row, which sit closer than the rows above and below.
KX = 1.2
KY = 1 / math.sqrt(1 - 1 / KX**2)


class LaserItem(QGraphicsEllipseItem):
    """An ellipse just around the box: a glowing red ring of constant thickness (strokes
    of falling width and rising opacity) over a faint radial halo that leaves the middle,
    where the box's text is, clear."""

    overlay = True  # figures leave it out unless asked

    def __init__(self, presentation: bool = False):
        super().__init__()
        self.thickness = 0.0
        self.set_presentation(presentation)
        self.setZValue(LASER_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.setAcceptHoverEvents(False)

    def set_presentation(self, on: bool) -> None:
        """Thicker and brighter for a projector."""
        self.prepareGeometryChange()  # the bounds grow with the ring's thickness
        self.presentation = on
        self.thickness = 15.0 if on else 10.0
        self._pens = []
        for share, alpha in ((1.0, 45), (0.6, 90), (0.28, 210)):
            c = QColor(LASER_COLOR)
            c.setAlpha(alpha)
            self._pens.append(QPen(c, self.thickness * share))
        self.setPen(QPen(Qt.PenStyle.NoPen))
        self.setBrush(self._halo())
        self.update()

    def _halo(self) -> QRadialGradient:
        g = QRadialGradient(QPointF(0.5, 0.5), 0.5)
        g.setCoordinateMode(QGradient.CoordinateMode.ObjectBoundingMode)  # stretches to the ellipse
        for t, alpha in ((0.0, 0), (0.8, 0), (1.0, 70 if self.presentation else 55)):
            c = QColor(LASER_COLOR)
            c.setAlpha(alpha)
            g.setColorAt(t, c)
        return g

    def fit_around(self, box: QRectF) -> None:
        """Size the ring so `box` (centred on the item's position) sits just inside it:
        an ellipse through the box's corners, pushed out by a small gap."""
        rx = (box.width() / 2) * KX + GAP
        ry = (box.height() / 2) * KY + GAP
        rect = QRectF(-rx, -ry, 2 * rx, 2 * ry)
        if rect != self.rect():
            self.setRect(rect)

    def boundingRect(self) -> QRectF:
        m = self.thickness / 2 + 1
        return self.rect().adjusted(-m, -m, m, m)

    def paint(self, painter: QPainter, option, widget=None) -> None:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(self.brush())
        painter.drawEllipse(self.rect())
        painter.setBrush(Qt.BrushStyle.NoBrush)
        for pen in self._pens:
            painter.setPen(pen)
            painter.drawEllipse(self.rect())


class LaserPointer(QObject):
    """Follows a GraphScene's current nodes with a short glide; off by default."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.enabled = False
        self.presentation = False
        self.item: LaserItem | None = None
        self._scene = None
        self._glide = QVariantAnimation(self)
        self._glide.setDuration(GLIDE_MS)
        self._glide.setEasingCurve(QEasingCurve.Type.OutCubic)
        self._glide.valueChanged.connect(self._on_glide)

    # -- public --------------------------------------------------------------------------
    def attach(self, scene) -> None:
        """Point into `scene` from now on (the previous scene's ring goes with it)."""
        self._glide.stop()
        if self._scene is not None:
            try:
                self._scene.sig_step_applied.disconnect(self._on_step)
            except (RuntimeError, TypeError):
                pass
        self._scene = scene
        self.item = None
        if scene is None:
            return
        scene.sig_step_applied.connect(self._on_step)
        self.item = LaserItem(self.presentation)
        scene.addItem(self.item)
        scene.overlays.append(self.item)
        self._place(animate=False)

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        self._place(animate=False)

    def set_presentation(self, on: bool) -> None:
        """Bigger and brighter for a projector."""
        self.presentation = on
        if self.item is not None:
            self.item.set_presentation(on)
            self._place(animate=False)

    def target(self) -> QRectF | None:
        """The scene rectangle of the box to point at, or None when there is none.

        One call can create many nodes (an RNN cell: a dozen, spread over the graph); the
        ring goes around the last of them, the op's result, which is what the step shows.
        Every one of them keeps the scene's own current-node glow."""
        scene = self._scene
        if scene is None:
            return None
        for nid in reversed(scene.current_nodes()):
            node = scene.node_for(nid)
            if node is not None and node.isVisible():
                return node.mapRectToScene(node.rect)
        return None

    # -- following ---------------------------------------------------------------------------
    def _on_step(self, _step: int) -> None:
        self._place(animate=True)

    def _place(self, animate: bool) -> None:
        item = self.item
        if item is None:
            return
        box = self.target() if self.enabled else None
        if box is None:
            self._glide.stop()
            item.setVisible(False)
            return
        item.fit_around(box)
        to = box.center()
        if animate and item.isVisible() and item.pos() != to:
            self._glide.stop()
            self._glide.setStartValue(item.pos())
            self._glide.setEndValue(to)
            self._glide.start()
        else:
            self._glide.stop()
            item.setPos(to)
        item.setVisible(True)

    def _on_glide(self, value) -> None:
        if self.item is not None and isinstance(value, QPointF):
            self.item.setPos(value)
