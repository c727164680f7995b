"""File menu work that is not the window's: saving the script, exporting graph and tape."""

from __future__ import annotations

from PySide6.QtWidgets import QFileDialog, QMainWindow

from gradstudio.core.export import graph_to_dot, save_tape_json, write_atomic

EXPORT_FILTERS = {"png": "PNG (*.png)", "svg": "SVG (*.svg)", "dot": "Graphviz DOT (*.dot)", "json": "JSON (*.json)"}


class FileActions:
    """Acts for a main window (its session, graph panel and status bar)."""

    def __init__(self, window: QMainWindow):
        self.window = window

    @property
    def session(self):
        return self.window.session

    def _say(self, text: str, ms: int = 8_000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def save_script(self) -> None:
        if self.session.filename.startswith("<"):
            self.save_script_as()
        else:
            self._write_script(self.session.filename)

    def save_script_as(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save script", "", "Python (*.py)")
        if path and self._write_script(path):
            self.window.open_source(self.session.source, path)

    def _write_script(self, path: str) -> bool:
        try:
            write_atomic(path, self.session.source)
        except OSError as exc:
            self._say(f"Could not save {path}: {exc}", 15_000)
            return False
        self._say(f"Saved {path}", 8_000)
        return True

    def export_dialog(self, kind: str) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, f"Export {kind.upper()}", f"graph.{kind}", EXPORT_FILTERS[kind])
        if path:
            try:
                self.export(kind, path)
            except (OSError, RuntimeError, ValueError) as exc:
                self._say(f"Export failed: {exc}", 15_000)

    def export(self, kind: str, path: str) -> None:
        """Write the graph at the current step (png, svg, dot) or the whole tape (json)."""
        s = self.session
        if s.tape is None:
            raise RuntimeError("nothing recorded yet: run a script first")
        if kind == "png":
            self.window.graph_panel.view.export_png(path)
        elif kind == "svg":
            self.window.graph_panel.view.export_svg(path)
        elif kind == "dot":
            write_atomic(path, graph_to_dot(s.tape.graph(step=s.step)))
        elif kind == "json":
            save_tape_json(s.tape, path)
        else:
            raise ValueError(kind)
        self._say(f"Wrote {path}", 8_000)
