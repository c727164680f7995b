"""The editor panel: the script as the Session holds it, with the step's line and errors marked."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .._shared import ElidedLabel, observe
from .code_editor import CodeEditor
from .lines import error_line, step_is_backward, step_line

EDIT_DEBOUNCE_MS = 400


class EditorPanel(QWidget):
    """Edits go to `session.set_source` once typing pauses; the session's source, step and
    error come back as text, bands and a one-line banner."""

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.editor = CodeEditor(self)
        self.banner = ElidedLabel(parent=self)
        self.banner.setObjectName("errorBanner")
        self.banner.setStyleSheet(
            "#errorBanner { background: #fde2e2; color: #8a1010; border-bottom: 1px solid #e8a0a0;"
            " padding: 4px 8px; }"
        )
        self.banner.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.editor)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(EDIT_DEBOUNCE_MS)
        self._debounce.timeout.connect(self.flush)
        self.editor.textChanged.connect(self._debounce.start)

        observe(self, session.sig_source_changed, self._on_source_changed)
        observe(self, session.sig_tape_changed, self._on_step_changed)
        observe(self, session.sig_step_changed, self._on_step_changed)
        observe(self, session.sig_error_changed, self._on_error_changed)
        self._on_source_changed(session.source)
        self._on_error_changed(session.error)

    # -- public ------------------------------------------------------------------------
    def cursor_line(self) -> int:
        """1-based line of the text cursor, for "run to cursor"."""
        return self.editor.cursor_line()

    def flush(self) -> None:
        """Push a pending edit now (before a run, say) instead of waiting for the pause."""
        self._debounce.stop()
        text = self.editor.toPlainText()
        if text != self.session.source:
            self.session.set_source(text)

    def set_font_scale(self, f: float) -> None:
        self.editor.set_font_scale(f)
        font = self.banner.font()
        font.setPointSizeF(self.font().pointSizeF() * f)
        self.banner.setFont(font)

    # -- session -> widgets ------------------------------------------------------------
    def _on_source_changed(self, source: str) -> None:
        if source == self.editor.toPlainText():
            return  # our own edit coming back
        self.editor.set_text(source)
        self._debounce.stop()
        self._on_step_changed()

    def _on_step_changed(self, *_) -> None:
        self.editor.set_step_line(step_line(self.session), backward=step_is_backward(self.session))

    def _on_error_changed(self, error) -> None:
        self.editor.set_error(error_line(self.session), str(error) if error else "")
        self.banner.setVisible(error is not None)
        if error is not None:
            self.banner.set_full_text(str(error).splitlines()[0] if str(error) else error.exc_type)
            self.banner.setToolTip(error.traceback or str(error))
