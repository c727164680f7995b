"""The model as a tree: each module with its output shape and parameters, the layer that
does not fit in red; palette kinds drop into it and its rows drag to reorder."""

from __future__ import annotations

import json

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTreeWidget, QTreeWidgetItem

from gradstudio.core.builder import KINDS, ModuleSpec, ShapeReport

from .document import path_text
from .palette_view import KIND_MIME

PATH_MIME = "application/x-gradstudio-module-path"
PATH_ROLE = Qt.ItemDataRole.UserRole
ERROR_COLOR = QColor("#c62828")
UNKNOWN_COLOR = QColor("#9e9e9e")
MODULE, OUTPUT, PARAMS = range(3)


def module_label(spec: ModuleSpec) -> str:
    """Kind(the arguments that differ from the defaults), as in Python."""
    kind = KINDS[spec.kind]
    changed = [f"{a.name}={_value(spec.args[a.name])}" for a in kind.args
               if a.name in spec.args and spec.args[a.name] != a.default]
    text = f"{spec.kind}({', '.join(changed)})" if changed or not kind.container else spec.kind
    return f"{spec.name}: {text}" if spec.name else text


def _value(v) -> str:
    return repr(tuple(v)) if isinstance(v, list) else repr(v)


def shape_text(shape) -> str:
    """(8, 16, 4) -> "N×16×4": the batch dimension as N."""
    if shape is None:
        return ""
    return "×".join(["N", *map(str, shape[1:])]) if shape else "scalar"


def params_text(trainable: int, frozen: int) -> str:
    if not trainable and not frozen:
        return ""
    return f"{trainable:,}" + (f" (+{frozen:,} frozen)" if frozen else "")


class ModelTree(QTreeWidget):
    """Shows a spec tree; says what was dropped where and leaves the editing to the panel."""

    sig_kind_dropped = Signal(str, list, int)
    """A palette kind was dropped: (kind, parent path, index)."""
    sig_module_dropped = Signal(list, list, int)
    """A row was dragged elsewhere: (path, new parent path, index before the move)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setColumnCount(3)
        self.setHeaderLabels(["Module", "Output", "Parameters"])
        header = self.header()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(MODULE, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(OUTPUT, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(PARAMS, QHeaderView.ResizeMode.ResizeToContents)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.setDropIndicatorShown(True)
        self._root: ModuleSpec | None = None

    # -- showing -----------------------------------------------------------------------
    def show_spec(self, root: ModuleSpec, report: ShapeReport) -> None:
        self._root = root
        self.clear()
        bad = report.error.path if report.error else None
        self._add(None, root, [], report, bad)
        self.expandAll()

    def _add(self, parent, spec: ModuleSpec, path: list, report: ShapeReport, bad: str | None) -> None:
        item = QTreeWidgetItem(self if parent is None else parent)
        key = path_text(path)
        node = report.nodes.get(key)
        item.setText(MODULE, module_label(spec))
        item.setData(MODULE, PATH_ROLE, path)
        item.setToolTip(MODULE, f"{key}\n{KINDS[spec.kind].doc}".strip())
        item.setTextAlignment(PARAMS, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if node is not None:
            item.setText(OUTPUT, shape_text(node.output_shape) if node.output_shape else "?")
            item.setText(PARAMS, params_text(node.trainable, node.frozen))
            if node.output_shape is None:
                item.setForeground(OUTPUT, QBrush(UNKNOWN_COLOR))
        if key == bad:
            for column in range(3):
                item.setForeground(column, QBrush(ERROR_COLOR))
                item.setToolTip(column, report.error.message)
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDropEnabled
        if path:
            flags |= Qt.ItemFlag.ItemIsDragEnabled
        item.setFlags(flags)
        for i, child in enumerate(spec.children):
            self._add(item, child, [*path, i], report, bad)

    def item_at_path(self, path) -> QTreeWidgetItem | None:
        item = self.topLevelItem(0)
        for i in path or []:
            item = item.child(i) if item is not None else None
        return item

    def current_path(self) -> list | None:
        items = self.selectedItems()
        return list(items[0].data(MODULE, PATH_ROLE)) if items else None

    def select_path(self, path) -> None:
        item = self.item_at_path(path) if path is not None else None
        if item is None:
            self.clearSelection()
            self.setCurrentItem(None)
        else:
            self.setCurrentItem(item)
            self.scrollToItem(item)

    # -- dropping ----------------------------------------------------------------------
    def drop_target(self, item: QTreeWidgetItem | None, position: QAbstractItemView.DropIndicatorPosition):
        """(parent path, index) for a drop on `item` where the indicator shows it."""
        P = QAbstractItemView.DropIndicatorPosition
        root_size = len(self._root.children) if self._root else 0
        if item is None or position == P.OnViewport:
            return [], root_size
        path = list(item.data(MODULE, PATH_ROLE))
        if not path:  # on, above or below the model itself: into it
            return [], 0 if position == P.AboveItem else root_size
        if position == P.OnItem:
            spec = self._spec(path)
            if spec.kind == "Sequential":
                return path, len(spec.children)
            if KINDS[spec.kind].container and spec.children and spec.children[0].kind == "Sequential":
                return [*path, 0], len(spec.children[0].children)
        if position == P.AboveItem:
            return path[:-1], path[-1]
        return path[:-1], path[-1] + 1

    def _spec(self, path) -> ModuleSpec:
        spec = self._root
        for i in path:
            spec = spec.children[i]
        return spec

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [KIND_MIME, PATH_MIME]

    def supportedDropActions(self) -> Qt.DropAction:  # noqa: N802
        return Qt.DropAction.MoveAction | Qt.DropAction.CopyAction

    def mimeData(self, items) -> QMimeData:  # noqa: N802
        data = QMimeData()
        if items:
            data.setData(PATH_MIME, json.dumps(items[0].data(MODULE, PATH_ROLE)).encode())
        return data

    def dropEvent(self, event) -> None:  # noqa: N802
        mime = event.mimeData()
        parent, index = self.drop_target(self.itemAt(event.position().toPoint()), self.dropIndicatorPosition())
        # Copy, so that Qt removes no rows itself; the panel rebuilds the tree from the
        # document after the drag has finished
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()
        if mime.hasFormat(KIND_MIME):
            kind = bytes(mime.data(KIND_MIME)).decode()
            QTimer.singleShot(0, lambda: self.sig_kind_dropped.emit(kind, parent, index))
        elif mime.hasFormat(PATH_MIME):
            path = json.loads(bytes(mime.data(PATH_MIME)).decode())
            QTimer.singleShot(0, lambda: self.sig_module_dropped.emit(path, parent, index))
