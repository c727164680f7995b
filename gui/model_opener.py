"""Opening a model from a .py file: find candidates by reading it, ask, then run and record
it on a worker thread (the file's code and the model's forward are user code)."""

from __future__ import annotations

from pathlib import Path

import torch
from PySide6.QtCore import QObject, Signal

from gradstudio.core.model_files import find_models, guess_input, instantiate, load_namespace
from gradstudio.core.live_model import LiveModel
from gradstudio.core.session import Session

from .model_dialog import ModelChoice, ModelDialog
from .workers import TaskRunner


def build_and_record(source: str, path: str, choice: ModelChoice):
    namespace = load_namespace(source, path)
    model = instantiate(source, path, choice.name, choice.kwargs, namespace)
    x = torch.randn(choice.input_shape) if choice.input_shape else guess_input(model)
    if x is None:
        raise ValueError(f"cannot guess an input for {choice.name}: give an input shape")
    live = LiveModel(model, x, origin=f"File › Open model ({Path(path).name})")
    tape, summary = live.record()
    tape.graph()  # built here, off the GUI thread
    return tape, summary, namespace, source, live


class ModelOpener(QObject):
    sig_message = Signal(str)
    """Something to show in the status bar."""
    sig_classes = Signal(object, str)
    """A file ran: its globals and source (its nn.Module classes go to the builder's palette)."""

    def __init__(self, session: Session, parent: QObject | None = None):
        super().__init__(parent)
        self.session = session
        self.runner = TaskRunner(self)
        self.runner.sig_finished.connect(self._on_recorded)
        self.runner.sig_failed.connect(lambda exc: self.sig_message.emit(f"Could not build the model: {exc}"))

    def open(self, path: str, parent=None) -> bool:
        try:
            source = Path(path).read_text(encoding="utf-8")
            candidates = find_models(source)
        except (OSError, UnicodeDecodeError) as exc:
            self.sig_message.emit(f"Cannot open {path}: {exc}")
            return False
        except SyntaxError as exc:
            self.sig_message.emit(f"{Path(path).name}: line {exc.lineno}: {exc.msg}")
            return False
        if not candidates:
            self.sig_message.emit(f"{Path(path).name} defines no nn.Module class or model-building function.")
            return False
        choice = ModelDialog.ask(path, candidates, parent)
        if choice is None:
            return False
        self.sig_message.emit(f"Building {choice.name} from {Path(path).name}…")
        self.runner.submit(lambda: build_and_record(source, str(Path(path).resolve()), choice))
        return True

    def _on_recorded(self, result) -> None:
        tape, summary, namespace, source, live = result
        self.sig_classes.emit(namespace, source)
        self.session.live_model = live
        self.session.set_source(summary, "<model>")
        self.session.set_tape(tape)
        self.sig_message.emit("Model recorded: step through its forward and backward.")

    def shutdown(self) -> None:
        self.runner.shutdown()
