"""A module as a labelled box around the nodes created while it ran (`stage1: Stage`).

Nested modules nest boxes; deeper boxes sit above their parents and alternate two tints so
the nesting reads at a glance. The box of the module running at the current step gets an
accent border. Double-clicking it (handled by the view) folds it into one node.

The label is a separate item stacked above the edges, on a patch of the box's tint, so an
edge entering the box passes under the text instead of through it.
"""

from __future__ import annotations

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QPainter
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from .plan import HIDDEN_CLUSTER, ClusterSpec
from .style import TEXT_LOD, SceneStyle

RADIUS = 7.0
LABEL_BAND = 14.0  # the layout leaves this much room at the top of a module box
MAX_BAND = 19.0  # plus most of its padding (8) for bigger presentation text: content starts at 22
LABEL_Z = 15.0  # above edges (10-12), below nodes (20+)


class ClusterItem(QGraphicsItem):
    def __init__(self, spec: ClusterSpec, style: SceneStyle, short_label: str | None = None):
        super().__init__()
        self.spec = spec
        self.style = style
        x, y, w, h = spec.rect
        self.setPos(x, y)
        self.rect = QRectF(0, 0, w, h)
        self._bounds = self.rect.adjusted(-2, -2, 2, 2)
        self.state = HIDDEN_CLUSTER
        self.setVisible(False)
        self.setZValue(spec.depth * 0.01)  # below edges (10) and nodes (20)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.label_item = ClusterLabel(self, short_label or spec.label)

    @property
    def path(self) -> str:
        return self.spec.path

    @property
    def current(self) -> bool:
        return self.state[1]

    def apply(self, state: tuple) -> None:
        old = self.state
        if state == old:
            return
        self.state = state
        if state[0] != old[0]:
            self.setVisible(state[0])
            self.label_item.setVisible(state[0])
        elif state[0]:
            self.update()
            self.label_item.update()

    def boundingRect(self) -> QRectF:
        return self._bounds

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        st = self.style
        painter.setPen(st.cluster_current_pen if self.state[1] else st.cluster_pen)
        painter.setBrush(st.cluster_fills[self.spec.depth % len(st.cluster_fills)])
        painter.drawRoundedRect(self.rect, RADIUS, RADIUS)


def label_band(style: SceneStyle) -> float:
    """The label patch's height: the layout's band, taller for presentation-size text."""
    return min(max(LABEL_BAND, style.fm_cluster.height() + 2), MAX_BAND)


class ClusterLabel(QGraphicsItem):
    """`path: Class` at the top-left of a module box: the full path if it fits, else the
    path relative to the parent module (`conv1: Conv2d`), else elided."""

    def __init__(self, box: ClusterItem, short: str):
        super().__init__()
        self.box = box
        self.full, self.short = box.spec.label, short
        self.setPos(box.pos())
        self.band = label_band(box.style)
        self._bounds = QRectF(0, 0, box.rect.width(), self.band + 2)
        self._text: tuple | None = None  # (font size, text, width)
        self.setVisible(False)
        self.setZValue(LABEL_Z)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)

    def boundingRect(self) -> QRectF:
        return self._bounds

    def _fit(self) -> tuple:
        st = self.box.style
        px = st.fonts.cluster.pixelSize()
        if self._text is None or self._text[0] != px:
            room = self.box.rect.width() - 16
            fm = st.fm_cluster
            if fm.horizontalAdvance(self.full) <= room:
                text = self.full
            else:
                text = fm.elidedText(self.short, Qt.TextElideMode.ElideRight, room)
            self._text = (px, text, fm.horizontalAdvance(text))
        return self._text

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < TEXT_LOD:
            return
        st, box = self.box.style, self.box
        _, text, width = self._fit()
        if not text:
            return
        band = QRectF(5, 2, width + 6, self.band)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(st.label_patches[box.spec.depth % len(st.label_patches)])
        painter.drawRoundedRect(band, 3, 3)  # edges pass under the text, still faintly visible
        font = st.fonts.cluster
        if box.state[1]:
            font = QFont(font)
            font.setWeight(QFont.Weight.Bold)
        painter.setFont(font)
        painter.setPen(st.current_color if box.state[1] else st.cluster_text)
        painter.drawText(band.adjusted(3, 0, 0, 0), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, text)
