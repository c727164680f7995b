"""One run in full: its status and why, and its config and machine as key/value trees, so
two runs can be told apart by more than the table's columns."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QTabWidget, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from gradstudio.core.runs import RunRecord

from .columns import MISSING, created_text, duration_seconds, duration_text
from .status_style import is_dark, status_colour


def value_text(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def fill_tree(tree: QTreeWidget, data: Any) -> None:
    """Nested dicts and lists become expanded branches; everything else a key/value row."""
    tree.clear()
    if isinstance(data, dict) and data:
        _add_children(tree.invisibleRootItem(), data)
    else:
        QTreeWidgetItem(tree, ["(nothing recorded)", ""])
    tree.expandAll()
    tree.resizeColumnToContents(0)


def _add_children(parent: QTreeWidgetItem, data: dict | list) -> None:
    pairs = data.items() if isinstance(data, dict) else ((f"[{i}]", v) for i, v in enumerate(data))
    for key, value in pairs:
        if isinstance(value, (dict, list)) and value:
            item = QTreeWidgetItem(parent, [str(key), ""])
            _add_children(item, value)
        else:
            empty = "{}" if isinstance(value, dict) else "[]" if isinstance(value, list) else None
            QTreeWidgetItem(parent, [str(key), empty or value_text(value)])


def _tree(parent: QWidget) -> QTreeWidget:
    tree = QTreeWidget(parent)
    tree.setHeaderLabels(["key", "value"])
    tree.setUniformRowHeights(True)
    tree.setAlternatingRowColors(True)
    return tree


def tree_value(tree: QTreeWidget, *path: str) -> str:
    """The value shown at a key path, e.g. ("train", "lr"); KeyError names the missing key."""
    parent = tree.invisibleRootItem()
    item = None
    for key in path:
        item = next((parent.child(i) for i in range(parent.childCount()) if parent.child(i).text(0) == key), None)
        if item is None:
            raise KeyError(f"no {key!r} under {'/'.join(path[:path.index(key)]) or 'the top'}")
        parent = item
    return item.text(1) if item is not None else ""


class RunDetails(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.heading = QLabel(self)
        self.heading.setWordWrap(True)
        self.reason = QLabel(self)
        self.reason.setWordWrap(True)
        self.config_tree = _tree(self)
        self.machine_tree = _tree(self)
        self.tabs = QTabWidget(self)
        self.tabs.addTab(self.config_tree, "Config")
        self.tabs.addTab(self.machine_tree, "Machine")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        lay.addWidget(self.heading)
        lay.addWidget(self.reason)
        lay.addWidget(self.tabs, 1)
        self.record: RunRecord | None = None
        self.show_record(None)

    def show_record(self, record: RunRecord | None) -> None:
        previous, self.record = self.record, record
        if record is None:
            self.heading.setText("Select a run to see its config and machine.")
            self.reason.setText("")
            self.reason.hide()
            self.config_tree.clear()
            self.machine_tree.clear()
            return
        colour = status_colour(record.status, is_dark(self.palette())).name()
        self.heading.setText(
            f"<b>{_escape(record.name)}</b> (run {record.id}) — <span style='color:{colour}'>● {record.status}</span>"
            f" · created {created_text(record.created)} · {duration_text(duration_seconds(record))}")
        self.reason.setText(f"Why: {record.reason}" if record.reason else "")
        self.reason.setVisible(bool(record.reason))
        if previous is None or (previous.id, previous.config, previous.machine) != (record.id, record.config,
                                                                                    record.machine):
            fill_tree(self.config_tree, record.config)  # a refresh with the same run keeps scroll and expansion
            fill_tree(self.machine_tree, record.machine)

    def reason_text(self) -> str:
        return self.reason.text()


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
