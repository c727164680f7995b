"""The timeline panel: the tape as a strip, a slider, step buttons, playback and keys."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QKeySequence, QPalette, QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .._shared import ElidedLabel, blocked, observe
from .icons import SIZE as ICON_SIZE
from .icons import media_icon
from .model import CATEGORY_COLORS, CATEGORY_LABELS, categories, event_text, step_text
from .strip import TimelineStrip

DEFAULT_SPEED = 4  # events per second
MAX_SPEED = 30


class TimelinePanel(QWidget):
    """Moves through the Session's tape; everything it does is a Session method call."""

    sig_run_to_cursor = Signal()
    """The user asked to run to the editor's cursor line (the main window knows the editor)."""
    sig_playing_changed = Signal(bool)
    """Playback started (True) or stopped (False)."""

    def __init__(self, session, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self._base_point_size = self.font().pointSizeF()
        self.strip = TimelineStrip(self)
        self.slider = QSlider(Qt.Orientation.Horizontal, self)
        self.label = ElidedLabel(parent=self)
        self.speed = QSpinBox(self)
        self.speed.setRange(1, MAX_SPEED)
        self.speed.setValue(DEFAULT_SPEED)
        self.speed.setSuffix(" ev/s")
        self.speed.setToolTip("Playback speed: events per second")
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._on_tick)
        self._actions = self._make_actions()
        self._apply_icons()
        self._buttons = {name: self._button(name) for name in self._actions}
        self._legend = self._make_legend()
        self._lay_out()

        self.strip.sig_step_requested.connect(session.set_step)
        self.slider.valueChanged.connect(session.set_step)
        self.speed.valueChanged.connect(self._on_speed_changed)
        observe(self, session.sig_tape_changed, self._on_tape_changed)
        observe(self, session.sig_step_changed, self._on_step_changed)
        self._on_speed_changed(self.speed.value())
        self._on_tape_changed(session.tape)

    # -- public ------------------------------------------------------------------------
    def keyboard_actions(self) -> list[QAction]:
        """Step keys (Left/Right, Home/End, Space; F10, Shift+F10 and Ctrl+F10 for over, out
        and run to cursor). They are added to no widget: the main window adds them to the
        window and picks their shortcut context, so that e.g. the code editor keeps its
        arrow keys and Space while it has focus."""
        return list(self._actions.values())

    def action(self, name: str) -> QAction:
        """One of: first, previous, play, next, last, step_over, step_out, run_to_cursor."""
        return self._actions[name]

    def button(self, name: str) -> QToolButton:
        return self._buttons[name]

    @property
    def is_playing(self) -> bool:
        return self._timer.isActive()

    def play(self) -> None:
        """Advance one event per tick until the end; from the end, start over."""
        if self.session.n_events < 2 or self.is_playing:
            return
        if self.session.step >= self.session.n_events - 1:
            self.session.first()
        self._timer.start()
        self._on_playing_changed()

    def pause(self) -> None:
        if self.is_playing:
            self._timer.stop()
            self._on_playing_changed()

    def toggle_play(self) -> None:
        self.pause() if self.is_playing else self.play()

    def set_speed(self, events_per_second: int) -> None:
        self.speed.setValue(events_per_second)

    def set_font_scale(self, f: float) -> None:
        font = self.font()
        font.setPointSizeF(self._base_point_size * f)
        self.setFont(font)  # children without a font of their own follow
        self.strip.set_font_scale(f)
        for b in self._buttons.values():
            b.setIconSize(QSize(round(ICON_SIZE * f), round(ICON_SIZE * f)))

    # -- building ----------------------------------------------------------------------
    def _make_actions(self) -> dict[str, QAction]:
        s = self.session
        specs = [  # name, text, keys, slot
            ("first", "First step", "Home", s.first),
            ("previous", "Previous step", "Left", s.previous),
            ("play", "Play", "Space", self.toggle_play),
            ("next", "Next step", "Right", s.next),
            ("last", "Last step", "End", s.last),
            ("step_over", "Step over", "F10", s.step_over),
            ("step_out", "Step out", "Shift+F10", s.step_out),
            ("run_to_cursor", "Run to cursor", "Ctrl+F10", self.sig_run_to_cursor.emit),
        ]
        actions = {}
        for name, text, keys, slot in specs:
            a = QAction(text, self)
            a.setShortcut(QKeySequence(keys))
            a.setToolTip(f"{text} ({QKeySequence(keys).toString(QKeySequence.SequenceFormat.NativeText)})")
            a.triggered.connect(lambda _=False, f=slot: f())
            actions[name] = a
        return actions

    def _apply_icons(self) -> None:
        """Media icons in the palette's text colour; step over/out and run to cursor stay words."""
        colour = self.palette().color(QPalette.ColorRole.ButtonText)
        for name in ("first", "previous", "next", "last"):
            self._actions[name].setIcon(media_icon(name, colour))
        self._actions["play"].setIcon(media_icon("pause" if self.is_playing else "play", colour))

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "_buttons"):
            self._apply_icons()

    def _button(self, name: str) -> QToolButton:
        """A button that triggers the action without holding it: an action added to a widget
        gets its shortcut live in that widget's window, and the keys are the main window's call."""
        a = self._actions[name]
        b = QToolButton(self)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        if a.icon().isNull():
            b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        else:
            b.setAutoRaise(True)
            b.setIconSize(QSize(ICON_SIZE, ICON_SIZE))

        def sync() -> None:
            b.setText(a.text())
            b.setIcon(a.icon())
            b.setToolTip(a.toolTip())
            b.setEnabled(a.isEnabled())

        a.changed.connect(sync)
        sync()
        b.clicked.connect(a.trigger)
        return b

    def _make_legend(self) -> QWidget:
        box = QWidget(self)
        row = QHBoxLayout(box)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        for cat, colour in CATEGORY_COLORS.items():
            swatch = QLabel(box)
            pm = QPixmap(10, 10)
            pm.fill(QColor(colour))
            swatch.setPixmap(pm)
            text = QLabel(CATEGORY_LABELS[cat], box)
            row.addWidget(swatch)
            row.addWidget(text)
            row.addSpacing(8)
        return box

    def _lay_out(self) -> None:
        top = QHBoxLayout()
        top.addWidget(self.label, 1)
        top.addSpacing(16)
        top.addWidget(self._legend)
        controls = QHBoxLayout()
        controls.setSpacing(2)
        for name in ("first", "previous", "play", "next", "last"):
            controls.addWidget(self._buttons[name])
        controls.addSpacing(12)
        for name in ("step_over", "step_out", "run_to_cursor"):
            controls.addWidget(self._buttons[name])
        controls.addSpacing(12)
        controls.addWidget(self.slider, 1)
        controls.addSpacing(12)
        controls.addWidget(QLabel("speed", self))
        controls.addWidget(self.speed)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.strip)
        layout.addLayout(controls)

    # -- session -> widgets ------------------------------------------------------------
    def _on_tape_changed(self, tape) -> None:
        self.pause()
        events = tape.events if tape is not None else []
        self.strip.set_events(categories(tape), [event_text(tape, e) for e in events])
        with blocked(self.slider):
            self.slider.setRange(0, max(0, len(events) - 1))
        self._on_step_changed(self.session.step)

    def _on_step_changed(self, step: int) -> None:
        with blocked(self.slider):
            self.slider.setValue(step)
        self.strip.set_step(step)
        self.label.set_full_text(step_text(self.session))
        n = self.session.n_events
        for name, enabled in (
            ("first", step > 0), ("previous", step > 0), ("play", n > 1),
            ("next", step < n - 1), ("last", step < n - 1),
            ("step_over", step < n - 1), ("step_out", step < n - 1), ("run_to_cursor", n > 0),
        ):
            self._actions[name].setEnabled(enabled)

    def _on_speed_changed(self, value: int) -> None:
        self._timer.setInterval(round(1000 / max(1, value)))

    def _on_playing_changed(self) -> None:
        playing = self.is_playing
        a = self._actions["play"]
        a.setText("Pause" if playing else "Play")
        a.setToolTip(f"{a.text()} (Space)")
        self._apply_icons()
        self.sig_playing_changed.emit(playing)

    def _on_tick(self) -> None:
        if self.session.step >= self.session.n_events - 1:
            self.pause()
            return
        self.session.next()
        if self.session.step >= self.session.n_events - 1:
            self.pause()
