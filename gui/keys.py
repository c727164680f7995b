"""Window-wide stepping keys that never steal keys from the code editor.

Presenter remotes send arrows and PageUp/PageDown; a lecturer expects them to step the
graph wherever the focus is, except while typing code. Lists, trees and tables keep Up and
Down for moving between their rows.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QWidget,
)

ROW_KEYS = (Qt.Key.Key_Up, Qt.Key.Key_Down)  # item views move between rows with these


def _takes_text(widget: QWidget) -> bool:
    """Line edits, spin boxes, text areas, editable combo boxes: keys there are typing."""
    if isinstance(widget, (QLineEdit, QAbstractSpinBox, QPlainTextEdit, QTextEdit)):
        return True
    return isinstance(widget, QComboBox) and widget.isEditable()


class SteppingKeys(QObject):
    """An application event filter: stepping keys go to `handlers` unless `typing_area` has focus."""

    def __init__(self, handlers: dict[int, Callable[[], None]], typing_area: QWidget, window: QWidget):
        super().__init__(window)
        self.handlers = handlers
        self.typing_area = typing_area
        self.window = window

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt naming)
        if event.type() not in (QEvent.ShortcutOverride, QEvent.KeyPress):
            return False
        if event.modifiers() & (Qt.ControlModifier | Qt.AltModifier | Qt.MetaModifier):
            return False
        handler = self.handlers.get(event.key())
        if handler is None:
            return False
        focus = QApplication.focusWidget()
        if focus is None or not self.window.isAncestorOf(focus) and focus is not self.window:
            return False
        if self.typing_area.isAncestorOf(focus) or focus is self.typing_area or _takes_text(focus):
            return False
        if event.key() in ROW_KEYS and isinstance(focus, QAbstractItemView):
            return False
        if event.type() == QEvent.ShortcutOverride:
            event.accept()  # claim the key before any other shortcut or scroll area
            return True
        handler()
        return True
