"""Writing the graph as it is on screen to PNG (slides) or SVG (papers, zoomable), and
rendering fixed-size frames of it (animations of a playback).

SVG goes through QtSvg's QSvgGenerator (part of PySide6-Essentials), so text stays text.
Only what is shown at the current step is written, framed tightly. Overlays such as the
laser pointer are left out unless asked for.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter

from .scene import GraphScene

MAX_PNG_SIDE = 16_000  # pixels; bigger scenes are written at a smaller scale
HINTS = QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing
CAPTION_SHARE = 0.06  # of a frame's height, for its caption


def export_png(scene: GraphScene, path: str | Path, scale: float = 2.0, *, overlays: bool = False) -> Path:
    """Render the visible graph at `scale` pixels per point (2 = crisp on a projector)."""
    src = scene.visible_rect()
    scale = min(scale, MAX_PNG_SIDE / max(src.width(), src.height(), 1.0))
    size = QSize(max(1, round(src.width() * scale)), max(1, round(src.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(scene.style.background)
    painter = QPainter(image)
    try:
        painter.setRenderHints(HINTS)
        with scene.uncached(), scene.without_overlays(keep=overlays):
            scene.render(painter, QRectF(0, 0, size.width(), size.height()), src,
                         Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        painter.end()
    path = Path(path)
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def export_svg(scene: GraphScene, path: str | Path, title: str = "autograd graph", *, overlays: bool = False) -> Path:
    from PySide6.QtSvg import QSvgGenerator  # PySide6-Essentials ships QtSvg

    src = scene.visible_rect()
    path = Path(path)
    gen = QSvgGenerator()
    gen.setFileName(str(path))
    gen.setSize(QSize(round(src.width()), round(src.height())))
    gen.setViewBox(QRectF(0, 0, src.width(), src.height()))
    gen.setTitle(title)
    gen.setDescription("Written by gradstudio")
    painter = QPainter(gen)
    try:
        painter.setRenderHints(HINTS)
        painter.fillRect(QRectF(0, 0, src.width(), src.height()), scene.style.background)
        with scene.uncached(), scene.without_overlays(keep=overlays):
            scene.render(painter, QRectF(0, 0, src.width(), src.height()), src,
                         Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        painter.end()
    if not path.exists() or path.stat().st_size == 0:
        raise OSError(f"could not write {path}")
    return path


def render_frame(scene: GraphScene, size: tuple[int, int], source: QRectF | None = None,
                 caption: str = "", *, overlays: bool = False) -> QImage:
    """The scene at its current step as a `size` image: `source` (default: the whole
    graph, so consecutive frames line up) fitted and centred, `caption` along the bottom."""
    w, h = size
    image = QImage(QSize(w, h), QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(scene.style.background)
    src = source if source is not None else scene.sceneRect()
    band = round(h * CAPTION_SHARE) if caption else 0
    room = QRectF(0, 0, w, h - band)
    scale = min(room.width() / max(src.width(), 1.0), room.height() / max(src.height(), 1.0))
    target = QRectF(0, 0, src.width() * scale, src.height() * scale)
    target.moveCenter(room.center())
    painter = QPainter(image)
    try:
        painter.setRenderHints(HINTS)
        with scene.uncached(), scene.without_overlays(keep=overlays):
            scene.render(painter, target, src, Qt.AspectRatioMode.KeepAspectRatio)
        if caption:
            font = painter.font()
            font.setPixelSize(max(10, round(band * 0.55)))
            painter.setFont(font)
            painter.setPen(QColor(scene.style.text))
            painter.drawText(QRectF(band * 0.4, h - band, w - band * 0.8, band),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, caption)
    finally:
        painter.end()
    return image
