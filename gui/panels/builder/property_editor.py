"""The selected module's constructor arguments, one editor per ArgSpec type; the values go
to the panel, which validates them through the document and reports back."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.builder import KINDS, ArgSpec, ModuleSpec

from .._shared import blocked

INT_LIMIT = 1_000_000_000
ERROR_STYLE = "color: #c62828;"


def ints_text(value) -> str:
    if value is None:
        return ""
    return ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)


def parse_ints(text: str):
    """"3" -> 3, "3, 3" -> (3, 3), "" -> None; anything else comes back as the text, for
    ArgSpec.check to explain."""
    parts = [p.strip() for p in text.replace("(", "").replace(")", "").split(",") if p.strip()]
    if not parts:
        return None
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        return text
    return values[0] if len(values) == 1 and "," not in text else values


class PropertyEditor(QWidget):
    """A form for one module's arguments."""

    sig_arg_edited = Signal(str, object)
    """The user set an argument: (name, value), not yet validated."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.title = QLabel(self)
        font = self.title.font()
        font.setBold(True)
        self.title.setFont(font)
        self.doc = QLabel(self)
        self.doc.setWordWrap(True)
        self.doc.setStyleSheet("color: palette(placeholder-text);")
        self.form = QFormLayout()
        self.error = QLabel(self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet(ERROR_STYLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.doc)
        layout.addLayout(self.form)
        layout.addWidget(self.error)
        layout.addStretch(1)
        self.fields: dict[str, QWidget] = {}
        self._key: tuple | None = None
        self.show_spec(None, "")

    def show_spec(self, spec: ModuleSpec | None, where: str) -> None:
        """Rebuild the form for another module; for the same one, only update values so
        the field being typed in keeps its focus."""
        key = (where, spec.kind) if spec is not None else None
        if key == self._key and spec is not None:
            self._set_values(spec)
            return
        self._key = key
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields.clear()
        self.error.clear()
        if spec is None:
            self.title.setText("No module selected")
            self.doc.setText("Select a module in the tree to edit its arguments.")
            return
        kind = KINDS[spec.kind]
        self.title.setText(spec.kind)
        self.doc.setText(f"{where}" + (f" — {kind.doc}" if kind.doc else ""))
        for arg in kind.args:
            field = self._make_field(arg)
            field.setToolTip(f"{arg.name}: {arg.type}" + (", optional (empty for None)" if arg.optional else ""))
            self.fields[arg.name] = field
            self.form.addRow(arg.name, field)
        if not kind.args:
            self.form.addRow(QLabel("No arguments.", self))
        self._set_values(spec)

    def show_error(self, name: str | None, message: str) -> None:
        """Say why the last edit was refused (empty message: clear)."""
        self.error.setText(f"{name}: {message}" if name and message else message)
        for field_name, field in self.fields.items():
            field.setStyleSheet(ERROR_STYLE if message and field_name == name else "")

    # -- fields ------------------------------------------------------------------------
    def _make_field(self, arg: ArgSpec) -> QWidget:
        def emit(value, name=arg.name):
            self.sig_arg_edited.emit(name, value)

        if arg.type == "bool":
            w = QCheckBox(self)
            w.toggled.connect(emit)
        elif arg.type == "int":
            w = QSpinBox(self)
            w.setRange(int(arg.minimum) if arg.minimum is not None else -INT_LIMIT,
                       int(arg.maximum) if arg.maximum is not None else INT_LIMIT)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(emit)
        elif arg.type == "float":
            w = QDoubleSpinBox(self)
            w.setDecimals(4)
            w.setSingleStep(0.1)
            w.setRange(arg.minimum if arg.minimum is not None else -1e6, arg.maximum if arg.maximum is not None else 1e6)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(emit)
        elif arg.type == "choice":
            w = QComboBox(self)
            w.addItems([str(c) for c in arg.choices])
            w.currentIndexChanged.connect(lambda i, a=arg: emit(a.choices[i]))
        else:  # ints, str
            w = QLineEdit(self)
            if arg.type == "ints":
                w.setPlaceholderText("None" if arg.optional else "3 or 3, 3")
                w.editingFinished.connect(lambda le=w: emit(parse_ints(le.text())))
            else:
                w.editingFinished.connect(lambda le=w: emit(le.text()))
        return w

    def _set_values(self, spec: ModuleSpec) -> None:
        args = KINDS[spec.kind].default_args() | spec.args
        with blocked(*self.fields.values()):
            for arg in KINDS[spec.kind].args:
                w, value = self.fields[arg.name], args[arg.name]
                if isinstance(w, QCheckBox):
                    w.setChecked(bool(value))
                elif isinstance(w, (QSpinBox, QDoubleSpinBox)):
                    w.setValue(value)
                elif isinstance(w, QComboBox):
                    w.setCurrentIndex(list(arg.choices).index(value) if value in arg.choices else -1)
                elif arg.type == "ints":
                    w.setText(ints_text(value))
                else:
                    w.setText(str(value))
