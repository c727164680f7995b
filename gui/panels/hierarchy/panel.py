"""`named_modules()` as a tree with trainable/frozen parameter counts, a requires_grad
switch per module (for models gradstudio holds: changing one records the model again), and
the parameters of the selected module."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QSplitter, QTableWidgetItem, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from gradstudio.core.live_model import module_rows
from gradstudio.core.session import Session

from ...workers import TaskRunner
from .._shared import blocked, observe, read_only_table

PATH_ROLE = Qt.ItemDataRole.UserRole + 1


def _count(n: int) -> str:
    return f"{n:,}" if n else ""


class HierarchyPanel(QWidget):
    sig_message = Signal(str)
    """Something to show in the status bar."""

    def __init__(self, session: Session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.model = None
        self.title = QLabel("No model yet: run a script, open a model, or use gradstudio.show().", self)
        self.title.setWordWrap(True)
        self.tree = QTreeWidget(self)
        self.tree.setHeaderLabels(["module", "trainable", "frozen"])
        self.tree.setUniformRowHeights(True)
        self.params = read_only_table(self, 0, 3)
        self.params.setHorizontalHeaderLabels(["parameter", "shape", "requires_grad"])
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.tree)
        split.addWidget(self.params)
        split.setSizes([300, 120])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.title)
        lay.addWidget(split, 1)
        self.runner = TaskRunner(self)
        self.runner.sig_finished.connect(self._on_recorded)
        self.runner.sig_failed.connect(lambda exc: self.sig_message.emit(f"Could not record the model: {exc}"))
        self.tree.itemChanged.connect(self._on_item_changed)
        self.tree.currentItemChanged.connect(lambda item, _old: self._show_params(item))
        observe(self, session.sig_tape_changed, self._on_tape_changed)
        self._on_tape_changed(session.tape)

    @property
    def editable(self) -> bool:
        """Only a model gradstudio holds can be changed and recorded again."""
        return self.session.live_model is not None

    def _on_tape_changed(self, _tape) -> None:
        live = self.session.live_model
        if live is not None:
            self.model, origin = live.model, live.origin
        elif self.session.script_models:  # never called by the script: nothing to record it on
            name, self.model = next(iter(self.session.script_models.items()))
            origin = f"the script's variable {name!r} (not called by the script: set requires_grad in the code)"
        else:
            self.model, origin = None, ""
        if self.model is None:
            self.tree.clear()
            return
        self.title.setText(f"{type(self.model).__name__} — from {origin}")
        self.refresh()

    def refresh(self) -> None:
        rows = module_rows(self.model)
        with blocked(self.tree):
            self.tree.clear()
            parents: dict[int, QTreeWidgetItem] = {}
            for row in rows:
                label = f"{row.path.rsplit('.', 1)[-1] or '(model)'}: {row.class_name}"
                item = QTreeWidgetItem([label, _count(row.trainable), _count(row.frozen)])
                item.setData(0, PATH_ROLE, row.path)
                item.setData(0, Qt.ItemDataRole.UserRole + 2, row.params)
                item.setTextAlignment(1, Qt.AlignmentFlag.AlignRight)
                item.setTextAlignment(2, Qt.AlignmentFlag.AlignRight)
                if row.trainable or row.frozen:
                    flags = item.flags() | Qt.ItemFlag.ItemIsUserCheckable
                    if not self.editable:
                        flags &= ~Qt.ItemFlag.ItemIsEnabled
                    item.setFlags(flags)
                    state = {True: Qt.CheckState.Checked, False: Qt.CheckState.Unchecked}.get(
                        row.trains, Qt.CheckState.PartiallyChecked)
                    item.setCheckState(0, state)
                    item.setToolTip(0, "requires_grad" if self.editable else
                                    "this model belongs to the script: set requires_grad in the code")
                parent = parents.get(row.depth - 1)
                (parent.addChild(item) if parent is not None else self.tree.addTopLevelItem(item))
                parents[row.depth] = item
            self.tree.expandToDepth(1)
            self.tree.resizeColumnToContents(0)

    def set_trainable(self, path: str, trains: bool) -> None:
        """Switch requires_grad for a module, then record the model again (off the GUI thread)."""
        live = self.session.live_model
        if live is None:
            return
        live.set_trainable(path, trains)
        self.refresh()
        self.sig_message.emit(f"{path or 'the model'}: requires_grad={trains}; recording again…")
        self.runner.submit(lambda: _record(live))

    def _on_item_changed(self, item: QTreeWidgetItem, column: int) -> None:
        if column == 0 and item.checkState(0) != Qt.CheckState.PartiallyChecked:
            path, trains = item.data(0, PATH_ROLE), item.checkState(0) == Qt.CheckState.Checked
            # later: the refresh rebuilds the tree, and Qt is still inside this item's change
            QTimer.singleShot(0, lambda: self.set_trainable(path, trains))

    def _on_recorded(self, result) -> None:
        tape, summary = result
        live = self.session.live_model
        if live is None or not live.from_script:  # a script stays in the editor
            self.session.set_source(summary, self.session.filename)
        self.session.set_tape(tape)
        if live is not None and live.from_script:
            self.sig_message.emit(f"Recorded {live.origin} again with a stand-in loss; "
                                  "Run (Ctrl+R) re-runs your script.")

    def _show_params(self, item: QTreeWidgetItem | None) -> None:
        params = item.data(0, Qt.ItemDataRole.UserRole + 2) if item is not None else []
        self.params.setRowCount(len(params or []))
        for r, (name, shape, requires_grad) in enumerate(params or []):
            for c, text in enumerate((name, "×".join(map(str, shape)) or "scalar", str(requires_grad))):
                self.params.setItem(r, c, QTableWidgetItem(text))
        self.params.resizeColumnsToContents()

    def shutdown(self) -> None:
        self.runner.shutdown()


def _record(live):
    tape, summary = live.record()
    tape.graph()
    return tape, summary
