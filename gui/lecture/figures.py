"""Figures for slides: the graph at the current step as PNG or SVG, and a playback of the
tape as an animated GIF or PNG frames, behind a progress dialog that can cancel it."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QProgressDialog

from .playback_dialog import PlaybackDialog, PlaybackOptions, steps_for
from .playback_export import PlaybackCancelled, export_playback

FIGURE_FILTERS = "PNG image (*.png);;SVG drawing (*.svg)"


class FigureActions:
    """The Lecture menu's export commands for one main window."""

    def __init__(self, window):
        self.window = window
        self.options = PlaybackOptions()

    def _say(self, text: str) -> None:
        self.window.statusBar().showMessage(text, 15_000)

    # -- one figure ------------------------------------------------------------------------
    def export_figure(self, path: str | Path, overlays: bool = False) -> Path:
        """PNG or SVG by the file's suffix; raises ValueError for any other suffix."""
        path = Path(path)
        panel = self.window.graph_panel
        if panel.scene is None:
            raise ValueError("nothing to export yet: run a script first")
        suffix = path.suffix.lower()
        if suffix == ".png":
            return panel.export_png(path, overlays=overlays)
        if suffix == ".svg":
            return panel.export_svg(path, overlays=overlays)
        raise ValueError(f"{path.name}: a figure is a .png or .svg file, not {suffix or 'a file without suffix'}")

    def export_figure_dialog(self) -> None:
        path, chosen = QFileDialog.getSaveFileName(self.window, "Export figure", "figure.png", FIGURE_FILTERS)
        if not path:
            return
        if not Path(path).suffix:
            path += ".svg" if "svg" in chosen.lower() else ".png"
        try:
            written = self.export_figure(path)
        except (OSError, ValueError, RuntimeError) as exc:
            self._say(f"Figure not written: {exc}")
            return
        self._say(f"Figure written to {written}")

    # -- a playback ---------------------------------------------------------------------------
    def export_playback_dialog(self) -> None:
        session = self.window.session
        if session.tape is None:
            self._say("Nothing to export yet: run a script first.")
            return
        options = PlaybackDialog.ask(self.window, self.options)
        if options is None:
            return
        self.options = options
        if options.fmt == "gif":
            path, _ = QFileDialog.getSaveFileName(self.window, "Export playback", "playback.gif", "Animated GIF (*.gif)")
            if path and not path.lower().endswith(".gif"):
                path += ".gif"
        else:
            path = QFileDialog.getExistingDirectory(self.window, "Folder for the PNG frames")
        if path:
            self.export_playback_with_progress(options, path)

    def export_playback_with_progress(self, options: PlaybackOptions, path: str | Path):
        """Render behind a progress dialog; the event loop runs between frames (Cancel works)."""
        try:
            steps = steps_for(options.part, self.window.session.tape)
        except ValueError as exc:
            self._say(f"Playback not written: {exc}")
            return None
        dialog = QProgressDialog("Rendering frames…", "Cancel", 0, len(steps), self.window)
        dialog.setWindowTitle("Export playback")
        dialog.setWindowModality(Qt.WindowModality.WindowModal)
        dialog.setMinimumDuration(300)

        def progress(done: int, total: int) -> bool:
            dialog.setValue(done)
            dialog.setLabelText(f"Rendering frame {min(done + 1, total)} of {total}…")
            QApplication.processEvents()
            return not dialog.wasCanceled()

        try:
            result = export_playback(self.window, steps, path, options.fmt, options.size,
                                     options.seconds_per_frame, progress)
        except PlaybackCancelled:
            self._say("Playback export cancelled; nothing was written.")
            return None
        except (OSError, ValueError) as exc:
            self._say(f"Playback not written: {exc}")
            return None
        finally:
            dialog.reset()
            dialog.deleteLater()
        where = result if isinstance(result, Path) else f"{len(result)} PNG files in {path}"
        self._say(f"Playback written: {where}")
        return result
