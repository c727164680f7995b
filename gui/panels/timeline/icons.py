"""Step and playback icons drawn in the palette's text colour (the style's own media icons
are dark-on-dark in a dark theme)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QIcon, QPolygonF

from .._shared import filled_shapes

SIZE = 16


def media_icon(name: str, colour: QColor, size: int = SIZE) -> QIcon:
    """One of first, previous, play, pause, next, last."""
    with filled_shapes(size, colour) as (pm, p):
        _draw_media(p, name, float(size))
    return QIcon(pm)


def _draw_media(p, name: str, s: float) -> None:
    top, bottom, mid = s * 0.2, s * 0.8, s * 0.5

    def right(x0: float, x1: float) -> None:
        p.drawPolygon(QPolygonF([QPointF(x0, top), QPointF(x1, mid), QPointF(x0, bottom)]))

    def left(x0: float, x1: float) -> None:
        p.drawPolygon(QPolygonF([QPointF(x1, top), QPointF(x0, mid), QPointF(x1, bottom)]))

    def bar(x: float) -> None:
        p.drawRect(QRectF(x, top, s * 0.13, bottom - top))

    if name == "play":
        right(s * 0.3, s * 0.8)
    elif name == "pause":
        bar(s * 0.3)
        bar(s * 0.57)
    elif name == "next":
        right(s * 0.25, s * 0.6)
        bar(s * 0.64)
    elif name == "previous":
        bar(s * 0.23)
        left(s * 0.4, s * 0.75)
    elif name == "last":
        right(s * 0.1, s * 0.45)
        right(s * 0.42, s * 0.77)
        bar(s * 0.77)
    elif name == "first":
        bar(s * 0.1)
        left(s * 0.23, s * 0.58)
        left(s * 0.55, s * 0.9)
