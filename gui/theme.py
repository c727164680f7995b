"""Dark and light themes: a Fusion palette each, applied to the whole application."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("light", "dark")

_DARK = {
    QPalette.Window: "#1f2227",
    QPalette.WindowText: "#e6e6e6",
    QPalette.Base: "#16181c",
    QPalette.AlternateBase: "#23262c",
    QPalette.ToolTipBase: "#2b2f36",
    QPalette.ToolTipText: "#f0f0f0",
    QPalette.Text: "#e6e6e6",
    QPalette.Button: "#2a2e35",
    QPalette.ButtonText: "#e6e6e6",
    QPalette.BrightText: "#ff6b6b",
    QPalette.Highlight: "#3d7bd9",
    QPalette.HighlightedText: "#ffffff",
    QPalette.Link: "#6aa8ff",
    QPalette.PlaceholderText: "#8a8f98",
}
_LIGHT = {
    QPalette.Window: "#f3f4f6",
    QPalette.WindowText: "#1d1f23",
    QPalette.Base: "#ffffff",
    QPalette.AlternateBase: "#f0f1f4",
    QPalette.ToolTipBase: "#ffffe8",
    QPalette.ToolTipText: "#1d1f23",
    QPalette.Text: "#1d1f23",
    QPalette.Button: "#e8eaee",
    QPalette.ButtonText: "#1d1f23",
    QPalette.BrightText: "#c62828",
    QPalette.Highlight: "#2f6fd0",
    QPalette.HighlightedText: "#ffffff",
    QPalette.Link: "#1f5fbf",
    QPalette.PlaceholderText: "#80858e",
}


def apply_theme(app: QApplication, theme: str) -> None:
    if theme not in THEMES:
        raise ValueError(f"theme must be one of {THEMES}")
    app.setStyle("Fusion")
    palette = QPalette()
    for role, colour in (_DARK if theme == "dark" else _LIGHT).items():
        palette.setColor(role, QColor(colour))
    palette.setColor(QPalette.Disabled, QPalette.Text, QColor("#7a7f88"))
    palette.setColor(QPalette.Disabled, QPalette.ButtonText, QColor("#7a7f88"))
    app.setPalette(palette)


def base_font(scale: float = 1.0) -> QFont:
    font = QApplication.font()
    font.setPointSizeF(max(6.0, 10.0 * scale))
    return font
