"""The palette: every module kind, grouped, as a drag source (and double-click to add)."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtWidgets import QAbstractItemView, QTreeWidget, QTreeWidgetItem

from gradstudio.core.builder import GROUPS, KINDS

KIND_MIME = "application/x-gradstudio-module-kind"
KIND_ROLE = Qt.ItemDataRole.UserRole


def kind_tooltip(kind: str) -> str:
    k = KINDS[kind]
    args = ", ".join(f"{a.name}={a.default!r}" for a in k.args)
    return f"{kind}({args})" + (f"\n{k.doc}" if k.doc else "")


class PaletteView(QTreeWidget):
    """Module kinds under their groups; drags carry the kind name."""

    sig_kind_activated = Signal(str)
    """A kind was double-clicked or Enter was pressed on it: add it to the model."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.rebuild()
        self.itemActivated.connect(self._on_item_activated)

    def rebuild(self) -> None:
        """Refill from the palette (the user's own classes change with each run)."""
        self.clear()
        for group, kinds in GROUPS.items():
            top = QTreeWidgetItem(self, [group])
            top.setFlags(Qt.ItemFlag.ItemIsEnabled)
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            for kind in kinds:
                item = QTreeWidgetItem(top, [kind])
                item.setData(0, KIND_ROLE, kind)
                item.setToolTip(0, kind_tooltip(kind))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
        self.expandAll()

    def current_kind(self) -> str | None:
        item = self.currentItem()
        return item.data(0, KIND_ROLE) if item is not None and item.isSelected() else None

    def select_kind(self, kind: str) -> None:
        for item in self.findItems(kind, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive):
            if item.data(0, KIND_ROLE) == kind:
                self.setCurrentItem(item)

    def mimeTypes(self) -> list[str]:  # noqa: N802
        return [KIND_MIME]

    def mimeData(self, items) -> QMimeData:  # noqa: N802
        data = QMimeData()
        kinds = [i.data(0, KIND_ROLE) for i in items if i.data(0, KIND_ROLE)]
        if kinds:
            data.setData(KIND_MIME, kinds[0].encode())
            data.setText(kinds[0])
        return data

    def _on_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        kind = item.data(0, KIND_ROLE)
        if kind:
            self.sig_kind_activated.emit(kind)
