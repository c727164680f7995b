"""The window's menus and their shortcuts, built from a table so they stay easy to read."""

from __future__ import annotations

from typing import Callable

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

Item = tuple[str, str | None, Callable[[], None]] | None  # (text, shortcut, slot) or separator


def add_menu(window: QMainWindow, title: str, items: list[Item]) -> tuple[QMenu, dict[str, QAction]]:
    menu = window.menuBar().addMenu(title)
    actions: dict[str, QAction] = {}
    for item in items:
        if item is None:
            menu.addSeparator()
            continue
        text, shortcut, slot = item
        action = QAction(text, window)
        if shortcut:
            action.setShortcut(QKeySequence(shortcut))
        action.triggered.connect(lambda checked=False, s=slot: s())
        menu.addAction(action)
        actions[text.replace("&", "").rstrip(".…")] = action
    return menu, actions
