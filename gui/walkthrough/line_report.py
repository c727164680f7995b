"""The "what this line did" panel: the change in words, the loss, and for a line that
raised, PyTorch's own message (red, monospace) with the explanation in plain words."""

from __future__ import annotations

from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QFrame, QLabel, QVBoxLayout, QWidget

from gradstudio.core.walkthrough import LineResult

from .code_listing import mono_font

BASE_POINTS = 10.5
START = "Press Next line (or PageDown) to run optimizer.zero_grad(), the first line of the loop."


class LineReport(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.scale = 1.0
        self.title = QLabel("What this line did", self)
        self.code = QLabel(self)
        self.change = QLabel(START, self)
        self.loss = QLabel(self)
        self.error = QLabel(self)
        self.explanation = QLabel(self)
        for label in (self.code, self.change, self.loss, self.error, self.explanation):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(6)
        for label in (self.title, self.code, self.change, self.loss, self.error, self.explanation):
            layout.addWidget(label)
        layout.addStretch(1)
        self.set_scale(1.0)
        self._show(code="", change=START)

    # -- content -------------------------------------------------------------------------
    def show_result(self, result: LineResult) -> None:
        loss = f"loss = {result.loss:.6g}" if result.loss is not None else ""
        error = f"{result.error_type}: {result.error}" if result.error else ""
        self._show(code=f"line {result.index + 1}:  {result.text}", change=result.change, loss=loss,
                   error=error, explanation=result.explanation or "")

    def show_message(self, text: str, error: str = "") -> None:
        """Text that is not a line's result: the start, or why the walkthrough cannot start."""
        self._show(code="", change=text, error=error)

    def _show(self, code: str, change: str, loss: str = "", error: str = "", explanation: str = "") -> None:
        for label, text in ((self.code, code), (self.change, change), (self.loss, loss), (self.error, error),
                            (self.explanation, explanation)):
            label.setText(text)
            label.setVisible(bool(text))
        self._colour()

    # -- looks ---------------------------------------------------------------------------
    def set_scale(self, scale: float) -> None:
        self.scale = scale
        body = QFont(self.font())
        body.setPointSizeF(BASE_POINTS * scale)
        for label in (self.change, self.explanation):
            label.setFont(body)
        title = QFont(body)
        title.setBold(True)
        self.title.setFont(title)
        self.code.setFont(mono_font(BASE_POINTS * scale))
        self.error.setFont(mono_font(BASE_POINTS * 0.95 * scale))
        big = QFont(body)
        big.setPointSizeF(BASE_POINTS * 1.5 * scale)
        big.setBold(True)
        self.loss.setFont(big)

    def _colour(self) -> None:
        red = self.palette().color(QPalette.ColorRole.BrightText).name()
        self.error.setStyleSheet(f"color: {red}")

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._colour()
