"""A coloured dot per run status, in shades that read on the light and the dark theme."""

from __future__ import annotations

from PySide6.QtCore import QRectF
from PySide6.QtGui import QColor, QIcon, QPalette

from .._shared import filled_shapes

# (light theme, dark theme): dark shades are lighter so they stand out on a dark base
_COLOURS = {
    "running": ("#1e6fd9", "#5a9cff"),
    "completed": ("#2e9d4a", "#4cc46a"),
    "stopped": ("#80858e", "#9aa0a8"),
    "diverged": ("#e07b00", "#ffa040"),
    "failed": ("#d32f2f", "#ff5f5f"),
    "interrupted": ("#8e44ad", "#b57edc"),
}
_UNKNOWN = ("#80858e", "#9aa0a8")


def is_dark(palette: QPalette) -> bool:
    return palette.color(QPalette.ColorRole.Base).lightness() < 128


def status_colour(status: str, dark: bool) -> QColor:
    light_shade, dark_shade = _COLOURS.get(status, _UNKNOWN)
    return QColor(dark_shade if dark else light_shade)


def dot_icon(colour: QColor, size: int = 12) -> QIcon:
    with filled_shapes(size, colour) as (pm, p):
        p.drawEllipse(QRectF(size * 0.15, size * 0.15, size * 0.7, size * 0.7))
    icon = QIcon(pm)
    icon.addPixmap(pm, QIcon.Mode.Selected)  # the status colour stays true on a selected row
    return icon


class StatusIcons:
    """Dots made once per status and theme."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, bool], QIcon] = {}

    def icon(self, status: str, dark: bool) -> QIcon:
        key = (status, dark)
        if key not in self._cache:
            self._cache[key] = dot_icon(status_colour(status, dark))
        return self._cache[key]
