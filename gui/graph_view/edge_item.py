"""One edge: data flowed src -> dst in the forward pass (the arrow points that way, as in
torchviz); once the backward pass sends a gradient along it, it takes the colour of that
gradient's norm, and is drawn thicker at the event that sends it."""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QBrush, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from .plan import HIDDEN_EDGE, EdgeSpec
from .style import FADED_OPACITY, SceneStyle

ARROW_LOD = 0.25  # no arrow heads when zoomed out further


class EdgeItem(QGraphicsItem):
    def __init__(self, spec: EdgeSpec, style: SceneStyle):
        super().__init__()
        self.spec = spec
        self.style = style
        self.state = HIDDEN_EDGE
        self._shape = None
        m = 6.0
        self._bounds = spec.path.controlPointRect().united(spec.arrow.boundingRect()).adjusted(-m, -m, m, m)
        self.setVisible(False)
        self.setZValue(10)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        if not spec.contributes:
            self.setOpacity(FADED_OPACITY)

    @property
    def key(self) -> tuple:
        return self.spec.key

    @property
    def grad_norm(self) -> float | None:
        i = self.state[1]
        return self.spec.grad_norms[i] if i >= 0 else None

    @property
    def has_grad(self) -> bool:
        return self.state[1] >= 0

    def color(self):
        """The colour the edge is drawn in at the current step."""
        i = self.state[1]
        if i < 0:
            return self.style.edge_pen.color()
        return self.style.grad_color(self.spec.grad_norms[i])

    def apply(self, state: tuple) -> None:
        old = self.state
        if state == old:
            return
        self.state = state
        z = 12 if state[2] else 11 if state[1] >= 0 else 10  # gradient-carrying edges on top
        if z != self.zValue():
            self.setZValue(z)
        if state[0] != old[0]:
            self.setVisible(state[0])
        elif state[0]:
            self.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self) -> QPainterPath:
        """A band along the curve, for hovering (the path itself would be read as filled)."""
        if self._shape is None:
            stroker = QPainterPathStroker()
            stroker.setWidth(8.0)
            self._shape = stroker.createStroke(self.spec.path)
        return self._shape

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        st = self.style
        i = self.state[1]
        if i < 0:
            pen, brush = st.edge_pen, st.edge_brush
        else:
            norm = self.spec.grad_norms[i]
            color = st.grad_color(norm)
            pen = QPen(color, st.lw(4.0 if self.state[2] else 2.4))
            pen.setCapStyle(Qt.PenCapStyle.RoundCap)
            if norm is None:
                pen.setStyle(Qt.PenStyle.DashLine)
            brush = QBrush(color)
        painter.setPen(pen)
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.spec.path)
        if option.levelOfDetailFromTransform(painter.worldTransform()) >= ARROW_LOD and not self.spec.arrow.isEmpty():
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(brush)
            painter.drawPolygon(self.spec.arrow)
