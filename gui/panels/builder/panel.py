"""The module builder panel: palette, model tree with shapes, argument editor and code.
Every edit is a document operation pushed on an undo stack."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QKeySequence, QUndoStack
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.builder import ModuleSpec, SpecError

from .._shared import ElidedLabel, observe
from .commands import EditCommand
from .document import BuilderDocument, new_spec, path_text
from .model_tree import ERROR_COLOR, ModelTree, params_text, shape_text
from .palette_view import PaletteView
from .property_editor import ERROR_STYLE, PropertyEditor, ints_text, parse_ints


class BuilderPanel(QWidget):
    """Builds a model from the palette; its code can be recorded in the graph."""

    sig_record_requested = Signal(str)
    """The user asked to record the model: the generated Python source (defines class Net)."""

    def __init__(self, document: BuilderDocument | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = document or BuilderDocument()
        self.undo_stack = QUndoStack(self)
        self.palette = PaletteView(self)
        self.tree = ModelTree(self)
        self.status = ElidedLabel(parent=self)
        self.editor = PropertyEditor(self)
        self.input_shape_edit = QLineEdit(self)
        self.input_shape_edit.setToolTip("The shape of the model's input, batch first, e.g. 8, 4")
        self.input_shape_error = QLabel(self)
        self.input_shape_error.setStyleSheet(ERROR_STYLE)
        self.code_view = QPlainTextEdit(self)
        self.code_view.setReadOnly(True)
        self.code_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.code_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.record_button = QPushButton("Record in graph", self)
        self.record_button.setToolTip("Open the generated code in the editor and record it")
        self.tabs = QTabWidget(self)
        self._buttons = self._make_buttons()
        self._make_undo_actions()
        self._lay_out()

        self.palette.sig_kind_activated.connect(self.add_kind)
        self.tree.sig_kind_dropped.connect(self.drop_kind)
        self.tree.sig_module_dropped.connect(self.move)
        self.tree.itemSelectionChanged.connect(self._on_selection_changed)
        self.editor.sig_arg_edited.connect(self._on_arg_edited)
        self.input_shape_edit.editingFinished.connect(self._on_input_shape_changed)
        self.record_button.clicked.connect(self.record)
        observe(self, self.document.changed, self._on_document_changed)
        self._on_document_changed()

    # -- public ------------------------------------------------------------------------
    def set_spec(self, root: ModuleSpec, input_shape: tuple | None = None) -> None:
        """Start over with another model (not undoable: the undo history is cleared)."""
        self.undo_stack.clear()
        self.document.replace_root(root)
        if input_shape is not None:
            self.document.set_input_shape(input_shape)
        self.select(None)

    def selected_path(self) -> list | None:
        return self.tree.current_path()

    def select(self, path) -> None:
        self.tree.select_path(path)
        self._on_selection_changed()

    def drop_kind(self, kind: str, parent_path, index: int) -> bool:
        """Insert a new `kind` (defaults) at `index` in the container at `parent_path`."""
        return self._run("insert", (list(parent_path), index, new_spec(kind)))

    def add_kind(self, kind: str | None = None) -> bool:
        """Add `kind` (default: the palette's selection) into the selected container, or
        after the selected module."""
        kind = kind or self.palette.current_kind()
        if not kind:
            self._report("Pick a module in the palette first.")
            return False
        parent, index = self.document.insertion_point(self.selected_path())
        return self.drop_kind(kind, parent, index)

    def remove(self, path=None) -> bool:
        return self._with_path(path, lambda p: self._run("remove", (p,)))

    def duplicate(self, path=None) -> bool:
        return self._with_path(path, lambda p: self._run("duplicate", (p,)))

    def move(self, path, parent_path, index: int) -> bool:
        """Move a module; `index` counts in the list before the move, as a drop shows it."""
        return self._run("move", (list(path), list(parent_path), index))

    def move_by(self, delta: int, path=None) -> bool:
        """Up (-1) or down (+1) among its siblings."""
        def go(p):
            if not p:
                return False
            siblings = len(self.document.at(p[:-1]).children)
            target = p[-1] + delta
            if not 0 <= target < siblings:
                return False
            return self.move(p, p[:-1], target + (1 if delta > 0 else 0))
        return self._with_path(path, go)

    def set_arg(self, path, name: str, value) -> bool:
        """Set an argument as the editor does: validated, undoable, errors shown."""
        return self._run("set_arg", (list(path), name, value), field=name)

    def set_input_shape(self, shape) -> bool:
        return self._run("set_input_shape", (tuple(shape),), field="input_shape")

    def source(self) -> str:
        return self.document.code()

    def record(self) -> None:
        """Emit sig_record_requested with the generated source."""
        self.sig_record_requested.emit(self.document.code())

    def button(self, name: str) -> QToolButton:
        """One of: add, remove, duplicate, up, down, undo, redo."""
        return self._buttons[name]

    # -- building ----------------------------------------------------------------------
    def _make_buttons(self) -> dict[str, QToolButton]:
        specs = [
            ("add", "Add", "Add the palette's module into the selected container or after the selected module",
             lambda: self.add_kind()),
            ("remove", "Remove", "Remove the selected module (Delete)", lambda: self.remove()),
            ("duplicate", "Duplicate", "Copy the selected module after itself", lambda: self.duplicate()),
            ("up", "Up", "Move the selected module up", lambda: self.move_by(-1)),
            ("down", "Down", "Move the selected module down", lambda: self.move_by(1)),
        ]
        buttons = {}
        for name, text, tip, slot in specs:
            b = QToolButton(self)
            b.setText(text)
            b.setToolTip(tip)
            b.clicked.connect(slot)
            buttons[name] = b
        return buttons

    def _make_undo_actions(self) -> None:
        undo = self.undo_stack.createUndoAction(self, "Undo")
        redo = self.undo_stack.createRedoAction(self, "Redo")
        undo.setShortcut(QKeySequence("Ctrl+Z"))
        redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
        delete = self.tree.addAction("Remove")  # Delete in the tree
        delete.setShortcut(QKeySequence.StandardKey.Delete)
        delete.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        delete.triggered.connect(lambda: self.remove())
        for action in (undo, redo):
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)
            b = QToolButton(self)
            b.setDefaultAction(action)
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            self._buttons[action.text().split()[0].lower()] = b
        self.undo_action, self.redo_action = undo, redo

    def _lay_out(self) -> None:
        left = QWidget(self)
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        lv.addWidget(QLabel("Palette — drag into the model", left))
        lv.addWidget(self.palette)

        middle = QWidget(self)
        mv = QVBoxLayout(middle)
        mv.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()  # two short rows: the panel must also fit a narrow dock
        for name in ("add", "remove", "duplicate", "up", "down"):
            row.addWidget(self._buttons[name])
        row.addStretch(1)
        history = QHBoxLayout()
        history.addWidget(self._buttons["undo"])
        history.addWidget(self._buttons["redo"])
        history.addStretch(1)
        mv.addLayout(row)
        mv.addLayout(history)
        mv.addWidget(self.tree, 1)
        mv.addWidget(self.status)

        properties = QWidget(self)
        pv = QVBoxLayout(properties)
        pv.addWidget(self.editor)
        self.tabs.addTab(properties, "Properties")
        self.tabs.addTab(self.code_view, "Code")

        right = QWidget(self)
        rv = QVBoxLayout(right)
        rv.setContentsMargins(0, 0, 0, 0)
        shape_row = QHBoxLayout()
        shape_row.addWidget(QLabel("Input shape", right))
        shape_row.addWidget(self.input_shape_edit, 1)
        rv.addLayout(shape_row)
        rv.addWidget(self.input_shape_error)
        rv.addWidget(self.tabs, 1)
        rv.addWidget(self.record_button)

        splitter = self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        for w in (left, middle, right):
            splitter.addWidget(w)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 5)
        splitter.setStretchFactor(2, 3)
        splitter.setSizes([220, 560, 380])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    def set_orientation(self, orientation: Qt.Orientation) -> None:
        """Side by side (a wide window) or stacked (a dock beside the code editor)."""
        self.splitter.setOrientation(orientation)
        if orientation == Qt.Orientation.Vertical:
            self.splitter.setSizes([160, 420, 300])
        else:
            self.splitter.setSizes([220, 560, 380])

    # -- editing -----------------------------------------------------------------------
    def _run(self, op: str, args: tuple, field: str | None = None) -> bool:
        """Apply an operation, and push it for undo; a refused one is explained instead."""
        try:
            edit = self.document.apply(op, args)
        except SpecError as exc:
            self._report(exc.message if field else str(exc), field)
            return False
        self._report("", field)
        self.undo_stack.push(EditCommand(self.document, edit, (op, args), self._select_after_undo))
        if edit.path is not None:
            self.select(edit.path)
        return True

    def _with_path(self, path, action) -> bool:
        path = self.selected_path() if path is None else list(path)
        if path is None:
            self._report("Select a module first.")
            return False
        return action(path)

    def _select_after_undo(self, path) -> None:
        if path is not None:
            self.select(path)

    def _report(self, message: str, field: str | None = None) -> None:
        if field == "input_shape":
            self.input_shape_error.setText(message)
            self.input_shape_error.setVisible(bool(message))
        elif field:
            self.editor.show_error(field, message)
        elif message:
            self._show_status(message, error=True)

    # -- slots -------------------------------------------------------------------------
    def _on_document_changed(self) -> None:
        path = self.selected_path()
        report = self.document.shapes()
        with_blocked_selection = self.tree.blockSignals(True)
        self.tree.show_spec(self.document.root, report)
        self.tree.select_path(path if path is not None and self.tree.item_at_path(path) else None)
        self.tree.blockSignals(with_blocked_selection)
        self.code_view.setPlainText(self.document.code())
        if not self.input_shape_edit.hasFocus():
            self.input_shape_edit.setText(ints_text(self.document.input_shape))
        self.input_shape_error.setVisible(bool(self.input_shape_error.text()))
        if report.error:
            self._show_status(str(report.error), error=True)
        else:
            top = report.nodes["model"]
            self._show_status(f"Output {shape_text(top.output_shape)} · "
                              f"{params_text(top.trainable, top.frozen) or '0'} parameters", error=False)
        self._on_selection_changed()

    def _show_status(self, text: str, error: bool) -> None:
        self.status.set_full_text(text)
        self.status.setStyleSheet(f"color: {ERROR_COLOR.name()};" if error else "")

    def _on_selection_changed(self) -> None:
        path = self.selected_path()
        has = path is not None
        self.editor.show_spec(self.document.at(path) if has else None, path_text(path) if has else "")
        for name in ("remove", "duplicate", "up", "down"):
            self._buttons[name].setEnabled(bool(path))

    def _on_arg_edited(self, name: str, value) -> None:
        path = self.selected_path()
        if path is not None:
            self.set_arg(path, name, value)

    def _on_input_shape_changed(self) -> None:
        value = parse_ints(self.input_shape_edit.text())
        shape = value if isinstance(value, tuple) else (value,) if isinstance(value, int) else None
        if shape is None:
            self._report("expected positive integers, e.g. 8, 4", "input_shape")
        elif shape != self.document.input_shape:
            self.set_input_shape(shape)

