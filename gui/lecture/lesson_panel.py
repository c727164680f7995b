"""The Lesson panel: what the lecturer would say about the lesson on screen, in type big
enough for the back row, with the buttons a presenter needs (previous/next lesson, auto-play
at a chosen pace) and a × to hide it.

A plain view: it shows what `set_lesson` gives it and reports clicks as signals; the
controller decides what they do.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from gradstudio.assets.lessons import Lesson

PACE_MIN, PACE_MAX, PACE_DEFAULT = 0.25, 4.0, 1.0  # seconds per step
TITLE_PT, TEXT_PT = 15.0, 12.5  # at font scale 1
NO_LESSON_TEXT = ("This script is not one of the lessons. Press <b>Next lesson</b> to start the lecture "
                  "from its first lesson, or pick one from the Lessons menu.")


class LessonPanel(QWidget):
    sig_previous = Signal()
    """The Previous lesson button was clicked."""
    sig_next = Signal()
    """The Next lesson button was clicked."""
    sig_play_clicked = Signal()
    """The Play / Pause button was clicked."""
    sig_close = Signal()
    """The × was clicked: hide the panel."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.lesson: Lesson | None = None
        self._scale = 1.0
        self.section = QLabel(self)
        self.position = QLabel(self)
        self.close_button = QToolButton(self)
        self.close_button.setText("×")
        self.close_button.setToolTip("Hide the lesson panel (View › Lesson panel shows it again)")
        self.close_button.setAutoRaise(True)
        self.title = QLabel(self)
        self.title.setWordWrap(True)
        self.explanation = QLabel(self)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setWordWrap(True)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.scroll = QScrollArea(self)  # a narrow dock scrolls rather than cuts the text off
        self.scroll.setWidget(self.explanation)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.previous_button = QPushButton("◀  Previous lesson", self)
        self.next_button = QPushButton("Next lesson  ▶", self)
        self.play_button = QPushButton("▶  Auto-play", self)
        self.play_button.setToolTip("Step forward on its own at the chosen pace (Space)")
        self.pace = QDoubleSpinBox(self)
        self.pace.setRange(PACE_MIN, PACE_MAX)
        self.pace.setSingleStep(0.25)
        self.pace.setDecimals(2)
        self.pace.setValue(PACE_DEFAULT)
        self.pace.setSuffix(" s / step")
        self.pace.setToolTip("Auto-play pace: seconds per step")
        # a toggle button, not a check box: its tick would stay small on a projector
        self.continue_box = QPushButton("Continue into the next lesson", self)
        self.continue_box.setCheckable(True)
        self.continue_box.setToolTip("Auto-play goes on with the next lesson instead of stopping at the end")
        for b in (self.previous_button, self.next_button, self.play_button, self.close_button, self.continue_box):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # presenter keys keep stepping the graph
        for b in (self.previous_button, self.next_button, self.play_button, self.continue_box):
            # a narrow dock clips a label rather than widening the whole window past the screen
            b.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            b.setMinimumWidth(48)
        for label in (self.section, self.title):
            label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.pace.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Fixed)
        self.scroll.setMinimumHeight(48)
        self._lay_out()
        self.previous_button.clicked.connect(self.sig_previous)
        self.next_button.clicked.connect(self.sig_next)
        self.play_button.clicked.connect(self.sig_play_clicked)
        self.close_button.clicked.connect(self.sig_close)
        self.set_font_scale(1.0)
        self.set_lesson(None, -1, 0)

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.section, 1)
        top.addWidget(self.position)
        top.addWidget(self.close_button)
        nav = QHBoxLayout()
        nav.addWidget(self.previous_button)
        nav.addWidget(self.next_button)
        play = QHBoxLayout()
        play.addWidget(self.play_button)
        play.addWidget(self.pace)
        col = QVBoxLayout(self)
        col.setContentsMargins(12, 8, 12, 10)
        col.setSpacing(8)
        col.addLayout(top)
        col.addWidget(self.title)
        col.addWidget(self.scroll, 1)
        col.addLayout(nav)
        col.addLayout(play)
        col.addWidget(self.continue_box)

    # -- public ------------------------------------------------------------------------
    def set_lesson(self, lesson: Lesson | None, index: int, count: int) -> None:
        """Show `lesson` (number `index` of `count`, from 0), or say there is none."""
        self.lesson = lesson
        if lesson is None:
            self.section.setText("LECTURE")
            self.position.setText(f"{count} lessons" if count else "")
            self.title.setText("No lesson open")
            self.explanation.setText(NO_LESSON_TEXT)
        else:
            self.section.setText(lesson.section.upper())
            self.position.setText(f"lesson {index + 1} / {count}")
            self.title.setText(lesson.title)
            self.explanation.setText(lesson.explanation)
        self.previous_button.setEnabled(lesson is not None and index > 0)
        self.next_button.setEnabled(count > 0 and index < count - 1)

    def set_playing(self, playing: bool) -> None:
        self.play_button.setText("❚❚  Pause" if playing else "▶  Auto-play")

    def set_font_scale(self, f: float) -> None:
        """Everything grows together (presentation mode gives 1.6)."""
        self._scale = f
        base = self.font()
        base.setPointSizeF(10.0 * f)
        self.setFont(base)  # buttons, spin box, check box follow
        for label, pt, bold in ((self.title, TITLE_PT, True), (self.explanation, TEXT_PT, False),
                                (self.section, 9.0, True), (self.position, 9.5, False)):
            font = label.font()
            font.setPointSizeF(pt * f)
            font.setBold(bold)
            label.setFont(font)
        close = self.close_button.font()
        close.setPointSizeF(13.0 * f)
        self.close_button.setFont(close)

    @property
    def font_scale(self) -> float:
        return self._scale
