"""The drawing state every item shares: theme colours, fonts, line widths, gradient scale.

Items hold a reference to one `SceneStyle` instead of their own pens, so switching theme or
presentation mode is one assignment and a repaint, not a walk over 20,000 items.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFontMetricsF, QPen

from .colors import Theme, color_for_norm, kind_style, mix, norm_to_t, theme
from .text import Fonts

FADED_OPACITY = 0.35  # nodes that do not contribute to any output
TEXT_LOD = 0.45  # below this zoom, boxes are drawn without text
DETAIL_LOD = 0.7  # below this, only the first line


class SceneStyle:
    def __init__(self, theme_name: str = "light", fonts: Fonts | None = None, lo: float = 1.0, hi: float = 1.0):
        self.lo, self.hi = lo, hi
        self.theme = theme(theme_name)
        self.set_fonts(fonts or Fonts.make(False))

    def set_theme(self, name: str) -> None:
        self.theme: Theme = theme(name)
        th = self.theme
        self.background = QColor(th.background)
        self.text = QColor(th.text)
        self.text_dim = QColor(th.text_dim)
        self.edge_pen = QPen(QColor(th.edge), self.lw(1.2))
        self.edge_pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        self.edge_brush = QBrush(QColor(th.edge))
        self.cluster_fills = [QBrush(QColor(c)) for c in th.cluster_fills]
        self.label_patches = []
        for c in th.cluster_fills:
            c = QColor(c)
            c.setAlpha(200)
            self.label_patches.append(QBrush(c))
        self.cluster_pen = QPen(QColor(th.cluster_border), self.lw(1.0))
        self.cluster_current_pen = QPen(QColor(th.current), self.lw(2.0))
        self.cluster_text = QColor(th.cluster_text)
        self.freed_border = QColor(th.freed_border)
        self.freed_text = QColor(th.freed_text)
        self.badge_text = QColor(th.badge_text)
        self.freed_badge = QBrush(QColor(th.freed_badge))
        self.freed_badge_text = QColor(th.freed_badge_text)
        self.selection_pen = QPen(QColor(th.selection), self.lw(3.2))
        self.search_pen = QPen(QColor(th.search), self.lw(3.0))
        glow = QColor(th.current)
        self.glow_pens = []
        for width, alpha in ((14, 40), (9, 70), (5, 130)):
            c = QColor(glow)
            c.setAlpha(alpha)
            p = QPen(c, self.lw(width))  # wider on a projector, like every line
            p.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
            self.glow_pens.append(p)
        self.current_pen = QPen(glow, self.lw(2.4))
        self.current_color = QColor(glow)
        self.kind_fill, self.kind_border, self.kind_text, self.freed_fill = {}, {}, {}, {}
        for kind, ks in th.kinds.items():
            self.kind_fill[kind] = QBrush(QColor(ks.fill))
            self.kind_border[kind] = QColor(ks.border)
            self.kind_text[kind] = QColor(ks.text)
            self.freed_fill[kind] = QBrush(mix(ks.fill, th.freed_fill, 0.7))
        self._grad_colors: dict = {}  # per instance, and emptied with each theme

    def lw(self, w: float) -> float:
        """A line width scaled for presentation mode."""
        return w * self.fonts.line_width / 1.3

    def set_fonts(self, fonts: Fonts) -> None:
        self.fonts = fonts
        self.fm_label = QFontMetricsF(fonts.label)
        self.fm_detail = QFontMetricsF(fonts.detail)
        self.fm_cluster = QFontMetricsF(fonts.cluster)
        self.fm_badge = QFontMetricsF(fonts.badge)
        self.set_theme(self.theme.name)

    def kind(self, kind: str):
        return kind_style(self.theme, kind)

    def grad_color(self, norm: float | None) -> QColor:
        """Cached per style: painting asks for the same few colours thousands of times."""
        color = self._grad_colors.get(norm)
        if color is None:
            if len(self._grad_colors) > 4096:
                self._grad_colors.clear()
            color = self._grad_colors[norm] = color_for_norm(norm, self.lo, self.hi, self.theme)
        return color

    def heat(self, norm: float | None) -> float | None:
        """0 (small) .. 1 (large) on the log scale; None for no gradient or NaN/Inf."""
        return norm_to_t(norm, self.lo, self.hi) if norm is not None else None
