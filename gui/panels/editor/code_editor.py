"""A plain-text Python editor: line numbers, colours, a band on the step's line, error marks."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPointF, QRect, QSize, Qt
from PySide6.QtGui import (
    QColor,
    QFontDatabase,
    QPainter,
    QPalette,
    QPolygonF,
    QTextCursor,
    QTextFormat,
)
from PySide6.QtWidgets import QPlainTextEdit, QTextEdit, QToolTip, QWidget

from .._shared import blocked
from .highlighter import PythonHighlighter

TAB = "    "
BASE_POINT_SIZE = 11
# Tags the extra selections carry (QTextFormat.UserProperty), so tests and tooltips can tell them apart.
KIND_PROPERTY = QTextFormat.Property.UserProperty + 1
STEP, ERROR = "step", "error"

_BANDS = {  # (light, dark)
    "forward": ("#fff3b0", "#4a4420"),
    "backward": ("#e3dcff", "#3a3358"),
    ERROR: ("#ffd6d6", "#5a2626"),
}
_ERROR_MARK = QColor("#d62728")


class _Gutter(QWidget):
    """The line-number strip; painting and tooltips are the editor's."""

    def __init__(self, editor: "CodeEditor"):
        super().__init__(editor)
        self._editor = editor
        self.setMouseTracking(True)

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(self._editor.gutter_width(), 0)

    def paintEvent(self, event) -> None:  # noqa: N802
        self._editor._paint_gutter(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            self._editor._show_error_tip(event.globalPos(), self)
            return True
        return super().event(event)


class CodeEditor(QPlainTextEdit):
    """Monospace, Tab inserts four spaces, and two line marks set from outside:
    the current step's line (a band, scrolled into view) and the error line (red band,
    a gutter mark and the message as tooltip)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self._scale = 1.0
        self._step_line: int | None = None
        self._step_backward = False
        self._error_line: int | None = None
        self._error_message = ""
        self._gutter = _Gutter(self)
        self._highlighter = PythonHighlighter(self.document(), dark=self._dark())
        self.blockCountChanged.connect(self._update_gutter_width)
        self.updateRequest.connect(self._update_gutter)
        self._apply_font()

    def set_text(self, text: str) -> None:
        """Replace the whole text without emitting textChanged (it is not a user edit)."""
        with blocked(self):
            self.setPlainText(text)
        self._update_gutter_width()
        self._gutter.update()
        self.refresh_marks()

    # -- marks set by the panel --------------------------------------------------------
    def set_step_line(self, lineno: int | None, backward: bool = False) -> None:
        """Band the step's line (1-based) and scroll so it is visible; None clears it."""
        if (lineno, backward) == (self._step_line, self._step_backward):
            return
        self._step_line, self._step_backward = lineno, backward
        self.refresh_marks()
        if lineno is not None:
            self.ensure_line_visible(lineno)

    def set_error(self, lineno: int | None, message: str = "") -> None:
        """Mark the error line (1-based); None clears the mark."""
        self._error_line, self._error_message = lineno, message if lineno else ""
        self.refresh_marks()
        self._gutter.update()

    def step_line(self) -> int | None:
        return self._step_line

    def error_line(self) -> int | None:
        return self._error_line

    def marked_lines(self, kind: str) -> list[int]:
        """1-based lines of the extra selections of one kind (STEP or ERROR)."""
        return [
            s.cursor.blockNumber() + 1 for s in self.extraSelections() if s.format.property(KIND_PROPERTY) == kind
        ]

    def cursor_line(self) -> int:
        return self.textCursor().blockNumber() + 1

    def ensure_line_visible(self, lineno: int) -> None:
        """Scroll (without moving the text cursor) so the line sits in view, a third from the top."""
        bar = self.verticalScrollBar()
        first = self.firstVisibleBlock().blockNumber()
        visible = max(1, self.viewport().height() // max(1, self.fontMetrics().lineSpacing()))
        line = lineno - 1
        if not (first <= line < first + visible - 1):
            bar.setValue(max(0, line - visible // 3))

    def set_font_scale(self, f: float) -> None:
        self._scale = f
        self._apply_font()

    # -- editing -----------------------------------------------------------------------
    def keyPressEvent(self, event) -> None:  # noqa: N802
        if event.key() == Qt.Key.Key_Tab and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self._indent()
            return
        if event.key() == Qt.Key.Key_Backtab:
            self._dedent()
            return
        super().keyPressEvent(event)

    def _indent(self) -> None:
        cur = self.textCursor()
        if not cur.hasSelection():
            col = cur.positionInBlock()
            cur.insertText(" " * (len(TAB) - col % len(TAB)))
            return
        self._for_selected_lines(lambda c: c.insertText(TAB))

    def _dedent(self) -> None:
        def remove(c: QTextCursor) -> None:
            text = c.block().text()
            n = len(text) - len(text.lstrip(" "))
            c.movePosition(QTextCursor.MoveOperation.Right, QTextCursor.MoveMode.KeepAnchor, min(n, len(TAB)))
            c.removeSelectedText()

        self._for_selected_lines(remove)

    def _for_selected_lines(self, edit) -> None:
        cur = self.textCursor()
        doc = self.document()
        first = doc.findBlock(cur.selectionStart()).blockNumber()
        last = doc.findBlock(cur.selectionEnd()).blockNumber()
        cur.beginEditBlock()
        for n in range(first, last + 1):
            c = QTextCursor(doc.findBlockByNumber(n))
            edit(c)
        cur.endEditBlock()

    # -- marks -------------------------------------------------------------------------
    def refresh_marks(self) -> None:
        """Re-apply the bands (after the whole text was replaced, their cursors are gone)."""
        selections = []
        if self._step_line is not None:
            selections.append(self._band(self._step_line, "backward" if self._step_backward else "forward", STEP))
        if self._error_line is not None:
            selections.append(self._band(self._error_line, ERROR, ERROR))
        self.setExtraSelections([s for s in selections if s is not None])

    def _band(self, lineno: int, colour: str, kind: str):
        block = self.document().findBlockByNumber(lineno - 1)
        if not block.isValid():
            return None
        sel = QTextEdit.ExtraSelection()
        sel.format.setBackground(QColor(_BANDS[colour][self._dark()]))
        sel.format.setProperty(QTextFormat.Property.FullWidthSelection, True)
        sel.format.setProperty(KIND_PROPERTY, kind)
        sel.cursor = QTextCursor(block)
        return sel

    def viewportEvent(self, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.ToolTip:
            self._show_error_tip(event.globalPos(), self.viewport())
            return True
        return super().viewportEvent(event)

    def _show_error_tip(self, global_pos, widget) -> None:
        block = self.cursorForPosition(self.viewport().mapFromGlobal(global_pos)).block()
        if self._error_line is not None and block.blockNumber() + 1 == self._error_line:
            QToolTip.showText(global_pos, self._error_message, widget)
        else:
            QToolTip.hideText()

    # -- gutter ------------------------------------------------------------------------
    def gutter_width(self) -> int:
        digits = len(str(max(1, self.blockCount())))
        return round(self.fontMetrics().height() * 0.9) + 6 + self.fontMetrics().horizontalAdvance("9") * max(2, digits)

    def _update_gutter_width(self, *_):
        self.setViewportMargins(self.gutter_width(), 0, 0, 0)

    def _update_gutter(self, rect: QRect, dy: int) -> None:
        if dy:
            self._gutter.scroll(0, dy)
        else:
            self._gutter.update(0, rect.y(), self._gutter.width(), rect.height())
        if rect.contains(self.viewport().rect()):
            self._update_gutter_width()

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._place_gutter()

    def _place_gutter(self) -> None:
        r = self.contentsRect()
        self._gutter.setGeometry(QRect(r.left(), r.top(), self.gutter_width(), r.height()))

    def _paint_gutter(self, event) -> None:
        pal = self.palette()
        painter = QPainter(self._gutter)
        painter.fillRect(event.rect(), pal.color(QPalette.ColorRole.AlternateBase))
        painter.setFont(self.font())
        fm = self.fontMetrics()
        block = self.firstVisibleBlock()
        top = round(self.blockBoundingGeometry(block).translated(self.contentOffset()).top())
        width = self._gutter.width()
        text = pal.color(QPalette.ColorRole.Text)
        dim = QColor(text)
        dim.setAlphaF(0.45)
        while block.isValid() and top <= event.rect().bottom():
            height = round(self.blockBoundingRect(block).height())
            if block.isVisible() and top + height >= event.rect().top():
                n = block.blockNumber() + 1
                on_step = n == self._step_line
                painter.setPen(pal.color(QPalette.ColorRole.Text) if on_step else dim)
                painter.drawText(0, top, width - 6, fm.height(), Qt.AlignmentFlag.AlignRight, str(n))
                if n == self._error_line:
                    self._paint_error_mark(painter, top, fm.height())
                elif on_step:
                    self._paint_step_arrow(painter, top, fm.height())
            block = block.next()
            top += height
        painter.end()

    def _paint_error_mark(self, painter: QPainter, top: int, h: int) -> None:
        d = max(6, round(h * 0.5))
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(_ERROR_MARK)
        painter.drawEllipse(3, top + (h - d) // 2, d, d)

    def _paint_step_arrow(self, painter: QPainter, top: int, h: int) -> None:
        d = max(6, round(h * 0.55))
        y = top + h / 2
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor("#7c5cd6" if self._step_backward else "#c9a400"))
        painter.drawPolygon(QPolygonF([QPointF(3, y - d / 2), QPointF(3 + d * 0.8, y), QPointF(3, y + d / 2)]))

    # -- looks -------------------------------------------------------------------------
    def _dark(self) -> bool:
        return self.palette().color(QPalette.ColorRole.Base).lightness() < 128

    def _apply_font(self) -> None:
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSizeF(BASE_POINT_SIZE * self._scale)
        self.setFont(font)
        self.setTabStopDistance(self.fontMetrics().horizontalAdvance(" ") * len(TAB))
        self._update_gutter_width()
        self._place_gutter()

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            self._highlighter.set_dark(self._dark())
            self.refresh_marks()
