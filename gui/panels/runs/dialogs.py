"""The questions the Runs panel asks, as module functions so tests can replace them
(monkeypatch `dialogs.confirm_delete` etc.) instead of clicking modal dialogs."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget


def confirm_delete(parent: QWidget, names: list[str]) -> bool:
    """Ask before deleting runs, naming each one; No is the default."""
    shown = names[:12] + ([f"… and {len(names) - 12} more"] if len(names) > 12 else [])
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Delete runs?")
    what = "this run" if len(names) == 1 else f"these {len(names)} runs"
    box.setText(f"Delete {what} with all their metrics? This cannot be undone.\n\n" + "\n".join(shown))
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
    box.setDefaultButton(QMessageBox.StandardButton.No)
    return box.exec() == QMessageBox.StandardButton.Yes


def ask_save_path(parent: QWidget, title: str, suggested: str, file_filter: str) -> str:
    """A file to write, or "" when cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, title, suggested, file_filter)
    return path


def ask_directory(parent: QWidget, title: str) -> str:
    """A folder to write into, or "" when cancelled."""
    return QFileDialog.getExistingDirectory(parent, title)
