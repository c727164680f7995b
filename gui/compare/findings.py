"""Below the graphs: what the static graph lost, in sentences big enough for the back row,
and what torch said: the numbers, warnings and a capture's error with the user's line.
"""

from __future__ import annotations

from html import escape

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

LOST_PT, LOST_PT_PRESENTING = 14.0, 21.0
SAID_PT, SAID_PT_PRESENTING = 11.5, 16.0
CODE_PT, CODE_PT_PRESENTING = 10.5, 14.5


def _bullets(items: list[str]) -> str:
    rows = "".join(f"<li style='margin-bottom:6px'>{_code_spans(escape(s))}</li>" for s in items)
    return f"<ul style='margin-left:-18px'>{rows}</ul>"


def _code_spans(text: str) -> str:
    """`code` in a sentence as monospace."""
    parts = text.split("`")
    return "".join(f"<code>{p}</code>" if k % 2 else p for k, p in enumerate(parts))


def _scrolled(widget: QWidget) -> QScrollArea:
    area = QScrollArea()
    area.setWidgetResizable(True)
    area.setFrameShape(QScrollArea.Shape.NoFrame)
    area.setWidget(widget)
    return area


class FindingsPane(QWidget):
    """Two columns: the `lost` sentences; torch's facts, warnings and error."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.presentation = False
        self.lost_heading = QLabel("What the static graph lost", self)
        self.lost = QLabel(self)
        self.said_heading = QLabel("What torch said", self)
        self.said = QLabel(self)
        self.error_where = QLabel(self)
        self.error = QPlainTextEdit(self)
        self.error.setReadOnly(True)
        self.error.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.error.setMinimumHeight(120)
        for label in (self.lost, self.said, self.error_where):
            label.setWordWrap(True)
            label.setTextFormat(Qt.TextFormat.RichText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(8, 4, 8, 4)
        lv.addWidget(self.lost)
        lv.addStretch(1)
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(8, 4, 8, 4)
        rv.addWidget(self.said)
        rv.addWidget(self.error_where)
        rv.addWidget(self.error, 1)
        lcol, rcol = QVBoxLayout(), QVBoxLayout()
        lcol.addWidget(self.lost_heading)
        lcol.addWidget(_scrolled(left), 1)
        rcol.addWidget(self.said_heading)
        rcol.addWidget(_scrolled(right), 1)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 4)
        lay.addLayout(lcol, 5)
        lay.addLayout(rcol, 4)
        self.show_findings([], [], None, None)
        self._fonts()

    # -- content ---------------------------------------------------------------------------
    def show_findings(self, lost: list[str], facts: list[str], error: str | None, where: str | None,
                      whose: str = "The") -> None:
        """`whose` names the error's source ("torch.export's")."""
        self.lost_sentences = list(lost)
        self.lost.setText(_bullets(lost) if lost else "")
        self.said.setText(_bullets(facts) if facts else "<i>No warnings.</i>")
        self.error_where.setVisible(error is not None)
        self.error.setVisible(error is not None)
        self.error.setPlainText(error or "")
        self.error_where.setText(
            f"<b>{escape(whose)} error</b>{' points at your line:' if where else ':'}"
            + (f"<br><code>{escape(where)}</code>" if where else "")
        )

    def show_failure(self, message: str) -> None:
        """The work behind the view failed: say so in place of the findings."""
        self.show_findings([], [], message, None)
        self.said.setText("<b>The comparison could not be computed.</b>")

    @property
    def error_text(self) -> str:
        return self.error.toPlainText()

    # -- look ------------------------------------------------------------------------------
    def set_presentation(self, on: bool) -> None:
        self.presentation = on
        self._fonts()

    def _fonts(self) -> None:
        big = self.presentation
        for label, size in ((self.lost, LOST_PT_PRESENTING if big else LOST_PT),
                            (self.said, SAID_PT_PRESENTING if big else SAID_PT),
                            (self.error_where, SAID_PT_PRESENTING if big else SAID_PT)):
            f = label.font()
            f.setPointSizeF(size)
            label.setFont(f)
        for heading in (self.lost_heading, self.said_heading):
            f = heading.font()
            f.setPointSizeF((SAID_PT_PRESENTING if big else SAID_PT) + 1)
            f.setBold(True)
            heading.setFont(f)
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        mono.setPointSizeF(CODE_PT_PRESENTING if big else CODE_PT)
        self.error.setFont(mono)
