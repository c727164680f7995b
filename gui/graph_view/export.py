"""Writing the graph as it is on screen to PNG (slides) or SVG (papers, zoomable).

SVG goes through QtSvg's QSvgGenerator (part of PySide6-Essentials), so text stays text.
Only what is shown at the current step is written, framed tightly.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter

from .scene import GraphScene

MAX_PNG_SIDE = 16_000  # pixels; bigger scenes are written at a smaller scale


def export_png(scene: GraphScene, path: str | Path, scale: float = 2.0) -> Path:
    """Render the visible graph at `scale` pixels per point (2 = crisp on a projector)."""
    src = scene.visible_rect()
    scale = min(scale, MAX_PNG_SIDE / max(src.width(), src.height(), 1.0))
    size = QSize(max(1, round(src.width() * scale)), max(1, round(src.height() * scale)))
    image = QImage(size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(scene.style.background)
    painter = QPainter(image)
    try:
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        with scene.uncached():
            scene.render(painter, QRectF(0, 0, size.width(), size.height()), src,
                         Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        painter.end()
    path = Path(path)
    if not image.save(str(path)):
        raise OSError(f"could not write {path}")
    return path


def export_svg(scene: GraphScene, path: str | Path, title: str = "autograd graph") -> Path:
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
        painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        painter.fillRect(QRectF(0, 0, src.width(), src.height()), scene.style.background)
        with scene.uncached():
            scene.render(painter, QRectF(0, 0, src.width(), src.height()), src,
                         Qt.AspectRatioMode.IgnoreAspectRatio)
    finally:
        painter.end()
    if not path.exists() or path.stat().st_size == 0:
        raise OSError(f"could not write {path}")
    return path
