"""Persistent window state: geometry, docks, theme, recent files (QSettings)."""

from __future__ import annotations

from PySide6.QtCore import QSettings

MAX_RECENT = 8


def default_settings() -> QSettings:
    return QSettings("gradstudio", "gradstudio")


def recent_files(settings: QSettings) -> list[str]:
    value = settings.value("recent_files", [])
    if isinstance(value, str):
        value = [value]
    return [str(v) for v in value or []]


def add_recent_file(settings: QSettings, path: str) -> list[str]:
    files = [path] + [p for p in recent_files(settings) if p != path]
    settings.setValue("recent_files", files[:MAX_RECENT])
    return files[:MAX_RECENT]
