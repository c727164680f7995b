"""`gradstudio.show(model, example_input)`: open the app on a user's own model in one line."""

from __future__ import annotations

import sys

from gradstudio.core.live_model import LiveModel


def show_model(model, example_input, *, backward: bool = True, block: bool = True):
    """Record `model` on `example_input` and open the main window on the tape.

    Blocks until the window closes (returns the exit code); with `block=False` returns the
    window at once (the caller runs the event loop: notebooks with `%gui qt`, tests).
    """
    from PySide6.QtWidgets import QApplication

    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    live = LiveModel(model, example_input, backward)
    tape, summary = live.record()
    window = MainWindow()
    window.session.live_model = live
    window.session.set_source(summary, "<gradstudio.show>")
    window.session.set_tape(tape)
    window.setWindowTitle(f"gradstudio — {type(model).__name__}")
    window.show()
    if not block:
        return window
    return app.exec()
