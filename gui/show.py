"""`gradstudio.show(model, example_input)`: open the app on a user's own model in one line."""

from __future__ import annotations

import sys

import torch

from gradstudio.core.capture import record

SUMMARY = '''# Recorded by gradstudio.show({name}, example_input)
#
#   output = model(example_input)          # {shape}
#   {backward}
#
# Step with the arrow keys; the inspector shows where each op ran in your code.
'''


def record_model(model: torch.nn.Module, example_input, backward: bool = True):
    """Forward the example through `model` under record(); then, if asked, backward from
    the output (its sum when it is not a scalar) so gradients can be played back too."""
    inputs = example_input if isinstance(example_input, tuple) else (example_input,)
    with record(model) as tape:
        output = model(*inputs)
        first = output[0] if isinstance(output, (tuple, list)) else output
        did = "no backward (backward=False)"
        if backward and isinstance(first, torch.Tensor) and first.requires_grad:
            loss = first if first.dim() == 0 else first.float().sum()
            loss.backward()
            did = "output.backward()" if first.dim() == 0 else "output.sum().backward()   # a stand-in loss"
    shape = "×".join(map(str, first.shape)) if isinstance(first, torch.Tensor) else type(first).__name__
    return tape, SUMMARY.format(name=type(model).__name__, shape=shape, backward=did)


def show_model(model, example_input, *, backward: bool = True, block: bool = True):
    """Record `model` on `example_input` and open the main window on the tape.

    Blocks until the window closes (returns the exit code); with `block=False` returns the
    window at once (the caller runs the event loop: notebooks with `%gui qt`, tests).
    """
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    tape, summary = record_model(model, example_input, backward)
    window = MainWindow()
    window.session.set_source(summary, "<gradstudio.show>")
    window.session.set_tape(tape)
    window.setWindowTitle(f"gradstudio — {type(model).__name__}")
    window.show()
    if not block:
        return window
    return app.exec()
