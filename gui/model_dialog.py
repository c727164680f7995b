"""File › Open model…: pick a model class or factory found in a .py file, give its
constructor arguments and an input shape, and agree to run the file's code."""

from __future__ import annotations

import ast

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.model_files import ModelCandidate


class ModelChoice:
    """What the user chose: which model, its keyword arguments, an input shape (or None)."""

    def __init__(self, name: str, kwargs: dict, input_shape: tuple | None):
        self.name, self.kwargs, self.input_shape = name, kwargs, input_shape


def parse_value(text: str):
    """A Python literal (`3`, `0.5`, `(3, 3)`, `'relu'`, `True`); anything else as text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_shape(text: str) -> tuple | None:
    """'8, 3, 32, 32' or '8x3x32x32' -> (8, 3, 32, 32); blank -> None (guess)."""
    text = text.strip().strip("()[]")
    if not text:
        return None
    parts = [p for p in text.replace("x", ",").replace("×", ",").split(",") if p.strip()]
    dims = tuple(int(p) for p in parts)
    if any(d < 1 for d in dims):
        raise ValueError("dimensions must be positive")
    return dims


class ModelDialog(QDialog):
    def __init__(self, path: str, candidates: list[ModelCandidate], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Open a model")
        self.candidates = candidates
        self.choice = QComboBox(self)
        for c in candidates:
            self.choice.addItem(f"{c.name}  ({'class' if c.kind == 'class' else 'function'}, line {c.lineno})")
        self.form = QFormLayout()
        self.fields: dict[str, QLineEdit] = {}
        self.shape = QLineEdit(self)
        self.shape.setPlaceholderText("e.g. 8, 3, 32, 32 — blank: guess from the first layer")
        self.error = QLabel("", self)
        self.error.setStyleSheet("color: #c62828")
        warning = QLabel(f"Building the model runs the code in <b>{path}</b>. Only continue if you trust it.", self)
        warning.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.Ok | QDialogButtonBox.Cancel, self)
        buttons.button(QDialogButtonBox.Ok).setText("Run the file and build")
        buttons.accepted.connect(self._on_accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.choice)
        lay.addLayout(self.form)
        shape_row = QFormLayout()
        shape_row.addRow("input shape", self.shape)
        lay.addLayout(shape_row)
        lay.addWidget(self.error)
        lay.addWidget(warning)
        lay.addWidget(buttons)
        self.choice.currentIndexChanged.connect(self._on_choice_changed)
        self.result_choice: ModelChoice | None = None
        self._on_choice_changed(0)

    def _on_choice_changed(self, index: int) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        for p in self.candidates[index].parameters:
            edit = QLineEdit(p.default or "", self)
            if p.default is None:
                edit.setPlaceholderText("required" + (f" ({p.annotation})" if p.annotation else ""))
            self.fields[p.name] = edit
            self.form.addRow(p.name, edit)

    def _on_accept(self) -> None:
        cand = self.candidates[self.choice.currentIndex()]
        kwargs = {}
        for name, edit in self.fields.items():
            text = edit.text().strip()
            if not text:
                if name in cand.required:
                    self.error.setText(f"{name}: a value is required")
                    return
                continue
            kwargs[name] = parse_value(text)
        try:
            shape = parse_shape(self.shape.text())
        except ValueError:
            self.error.setText("input shape: expected positive integers, e.g. 8, 3, 32, 32")
            return
        self.result_choice = ModelChoice(cand.name, kwargs, shape)
        self.accept()

    @classmethod
    def ask(cls, path: str, candidates: list[ModelCandidate], parent=None) -> ModelChoice | None:
        """Show the dialog; None if cancelled. (Tests replace this classmethod.)"""
        dialog = cls(path, candidates, parent)
        return dialog.result_choice if dialog.exec() == QDialog.Accepted else None
