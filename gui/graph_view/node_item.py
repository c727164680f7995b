"""One box of the graph: an autograd node, a leaf, an output or a folded module.

Painted by hand (no child items) so 20,000 of them stay cheap; text is skipped when zoomed
far out. The state the scene sets (current, gradient, freed, selected) only changes what
`paint` draws, never the geometry, so a step is an `update()`.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from gradstudio.core.layout import CLUSTER_KIND

from .plan import HIDDEN_NODE, NodeSpec
from .style import DETAIL_LOD, FADED_OPACITY, TEXT_LOD, SceneStyle

RADIUS = 5.0
MARGIN = 9.0  # room around the box for the glow and badges
NEW_BADGE = QColor("#7b3fc4")  # "new in this run": a colour no other state uses
LEAF_KINDS = ("parameter", "input")
RUNS_BACKWARD = ("op", "accumulate", CLUSTER_KIND)


class NodeItem(QGraphicsItem):
    def __init__(self, spec: NodeSpec, style: SceneStyle):
        super().__init__()
        self.spec = spec
        self.style = style
        x, y, w, h = spec.rect
        self.setPos(x, y)
        self.rect = QRectF(0, 0, w, h)
        m = MARGIN * max(1.0, style.lw(1.0))  # the glow widens with presentation mode
        self._bounds = self.rect.adjusted(-m, -m, m, m)
        self.state = HIDDEN_NODE
        self.selected = False
        self.search_hit = False
        self.is_new = False  # only in this run, compared with the previous one
        self.setVisible(False)
        self.setZValue(20)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        if not spec.contributes:
            self.setOpacity(FADED_OPACITY)

    # -- state ---------------------------------------------------------------------------
    @property
    def node_id(self) -> str:
        return self.spec.id

    @property
    def node(self) -> NodeSpec:
        """What the box shows: id, kind, label, detail, op, module (alias of `spec`)."""
        return self.spec

    @property
    def current(self) -> bool:
        return self.state[1]

    @property
    def freed(self) -> bool:
        return self.state[3]

    @property
    def grad_norm(self) -> float | None:
        i = self.state[2]
        return self.spec.grad_norms[i] if i >= 0 else None

    @property
    def has_grad(self) -> bool:
        return self.state[2] >= 0

    @property
    def executed(self) -> bool:
        """Ran in a backward pass (ops) or holds a .grad (leaves) as of the current step."""
        return self.state[2] >= 0

    def apply(self, state: tuple) -> None:
        old = self.state
        if state == old:
            return
        self.state = state
        if state[1] != old[1]:
            self.setZValue(30 if state[1] else 20)  # the current node above its neighbours
        if state[0] != old[0]:
            self.setVisible(state[0])  # (schedules the repaint)
        elif state[0]:
            self.update()

    def set_selected(self, on: bool) -> None:
        if on != self.selected:
            self.selected = on
            self.update()

    def set_new(self, on: bool) -> None:
        if on != self.is_new:
            self.is_new = on
            self.update()

    def set_search_hit(self, on: bool) -> None:
        if on != self.search_hit:
            self.search_hit = on
            self.update()

    # -- painting ------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        return self._bounds

    def shape(self):
        p = QPainterPath()
        p.addRect(self.rect)
        return p

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        st, spec, rect = self.style, self.spec, self.rect
        lod = option.levelOfDetailFromTransform(painter.worldTransform())
        kind = spec.kind
        freed = self.state[3]
        grad_i = self.state[2]
        if self.state[1]:  # the current event's node: a soft glow
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for pen in st.glow_pens:
                painter.setPen(pen)
                painter.drawRoundedRect(rect, RADIUS, RADIUS)
        # border: selection > gradient received > output > kind
        if self.selected:
            pen = QPen(st.selection_pen)
        elif self.search_hit:
            pen = QPen(st.search_pen)
        elif grad_i >= 0 and kind in RUNS_BACKWARD:
            pen = QPen(st.grad_color(spec.grad_norms[grad_i]), st.lw(2.6))
        elif self.state[1]:
            pen = QPen(st.current_pen)
        elif kind == "output":
            pen = QPen(st.kind_border[kind], st.lw(3.0))
        else:
            pen = QPen(st.kind_border.get(kind, st.kind_border["op"]), st.lw(1.0))
        if freed:
            pen.setStyle(Qt.PenStyle.DashLine)
        painter.setPen(pen)
        painter.setBrush(st.freed_fill.get(kind) if freed else st.kind_fill.get(kind, st.kind_fill["op"]))
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        if kind == CLUSTER_KIND and lod >= TEXT_LOD / 2:  # a folded module: a second, inner border
            painter.setBrush(Qt.BrushStyle.NoBrush)
            inner = QPen(pen.color(), st.lw(1.0))
            inner.setStyle(pen.style())
            painter.setPen(inner)
            painter.drawRoundedRect(rect.adjusted(3, 3, -3, -3), RADIUS - 2, RADIUS - 2)
        if lod < TEXT_LOD:
            return
        self._paint_text(painter, lod, freed)
        if grad_i >= 0 and kind in LEAF_KINDS:
            self._badge(painter, ".grad", QBrush(st.grad_color(spec.grad_norms[grad_i])), st.badge_text, top=True)
        if freed:
            self._badge(painter, "freed", st.freed_badge, st.freed_badge_text, top=False)
        if self.is_new:
            self._badge(painter, "new", QBrush(NEW_BADGE), QColor("white"), top=True, left=True)

    def _paint_text(self, painter: QPainter, lod: float, freed: bool) -> None:
        st, spec, rect = self.style, self.spec, self.rect
        f = st.fonts
        color = st.freed_text if freed else st.kind_text.get(spec.kind, st.text)
        painter.setPen(color)
        fm_l = st.fm_label
        show_detail = bool(spec.detail) and lod >= DETAIL_LOD
        if show_detail:
            fm_d = st.fm_detail
            total = fm_l.height() + f.line_gap + fm_d.height()
        else:
            total = fm_l.height()
        y = (rect.height() - total) / 2
        painter.setFont(f.label)
        painter.drawText(QRectF(0, y, rect.width(), fm_l.height()), Qt.AlignmentFlag.AlignCenter, spec.label)
        if show_detail:
            painter.setFont(f.detail)
            dim = st.freed_text if freed else st.text_dim if spec.kind == "op" else color
            painter.setPen(dim)
            painter.drawText(
                QRectF(0, y + fm_l.height() + f.line_gap, rect.width(), fm_d.height()),
                Qt.AlignmentFlag.AlignCenter, spec.detail,
            )

    def _badge(self, painter: QPainter, text: str, brush: QBrush, color, top: bool, left: bool = False) -> None:
        """A small pill straddling the top (or bottom) border at the right (or left)."""
        st = self.style
        fm = st.fm_badge
        w, h = fm.horizontalAdvance(text) + 8, fm.height() + 1
        x = self.rect.left() + 4 if left else self.rect.right() - w - 4
        y = -h / 2 if top else self.rect.bottom() - h / 2
        r = QRectF(x, y, w, h)
        painter.setPen(QPen(st.background, 1.0))
        painter.setBrush(brush)
        painter.drawRoundedRect(r, h / 2, h / 2)
        painter.setPen(color)
        painter.setFont(st.fonts.badge)
        painter.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    def center(self) -> QPointF:
        return self.mapToScene(self.rect.center())
