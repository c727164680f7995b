"""Lecture mode for a main window: the Lesson panel, presenter keys that walk from one
lesson into the next, auto-play, the laser pointer and figures for slides.

It attaches to an existing window (docks, a Lecture menu, the stepping keys) so the window
only has to create it:

    self.lecture = LectureController(self)

Presenter keys: Right/Down/PageDown step forward and, at the end of a lesson's tape, open
the next lesson at its first step; Left/Up/PageUp step back and, at step 0, open the
previous lesson at its end. Space plays or pauses, L toggles the laser pointer. Like every
stepping key they never fire while the user types.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMenu

from gradstudio.assets.lessons import LESSONS, Lesson, lesson_for_filename

from .autoplay import AutoPlay
from .figures import FigureActions
from .lesson_panel import LessonPanel

PRESENTATION_SCALE = 1.6  # as the window's other panels
FORWARD_KEYS = (Qt.Key.Key_Right, Qt.Key.Key_Down, Qt.Key.Key_PageDown)
BACK_KEYS = (Qt.Key.Key_Left, Qt.Key.Key_Up, Qt.Key.Key_PageUp)
KEY_PANEL, KEY_PACE, KEY_CONTINUE, KEY_LASER = (
    "lecture/panel_visible", "lecture/pace", "lecture/continue", "lecture/laser")


class LectureController(QObject):
    sig_lesson_opened = Signal(object)
    """The session now shows this Lesson's script (from any menu, key or button)."""

    def __init__(self, window, lessons: list[Lesson] | None = None):
        super().__init__(window)
        self.window = window
        self.session = window.session
        self.settings = window.settings
        self.lessons = list(lessons if lessons is not None else LESSONS)
        self.lesson: Lesson | None = None
        self.figures = FigureActions(window)
        self.panel = LessonPanel()
        self.dock = QDockWidget("Lesson", window)
        self.dock.setObjectName("dock_lesson")
        self.dock.setWidget(self.panel)
        window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        self.autoplay = AutoPlay(self._auto_advance, self)
        self.menu, self.actions = self._build_menu()
        self._wrap_keys()
        self._connect()
        self._restore()
        self._on_source_changed(self.session.source)
        self._sized = False
        self.dock.visibilityChanged.connect(self._on_dock_visibility)
        if window.isVisible():
            self._on_dock_visibility(self.dock.isVisible())

    # -- construction ------------------------------------------------------------------
    def _build_menu(self) -> tuple[QMenu, dict[str, QAction]]:
        menu = self.window.menuBar().addMenu("Lect&ure")
        actions: dict[str, QAction] = {}

        def add(name: str, text: str, slot, shortcut: str | None = None, checkable: bool = False) -> QAction:
            action = QAction(text, self.window)
            if shortcut:
                action.setShortcut(QKeySequence(shortcut))
            action.setCheckable(checkable)
            if checkable:
                action.toggled.connect(slot)
            else:
                action.triggered.connect(lambda _=False: slot())
            menu.addAction(action)
            actions[name] = action
            return action

        # single keys (Space, L) are shown after a tab, not bound: SteppingKeys delivers
        # them, so they never fire while the user types
        add("previous", "&Previous lesson", self.previous_lesson, "Ctrl+PgUp")
        add("next", "&Next lesson", self.next_lesson, "Ctrl+PgDown")
        add("first", "Start from the &first lesson", lambda: self.open_lesson(0))
        menu.addSeparator()
        add("autoplay", "&Auto-play\tSpace", self._on_autoplay_action, checkable=True)
        add("continue", "&Continue into the next lesson", self._on_continue_toggled, checkable=True)
        add("laser", "&Laser pointer\tL", self._on_laser_toggled, checkable=True)
        menu.addSeparator()
        add("figure", "Export &figure…", self.figures.export_figure_dialog)
        add("playback", "Export play&back…", self.figures.export_playback_dialog)
        menu.addSeparator()
        toggle = self.dock.toggleViewAction()
        toggle.setText("Lesson &panel")
        menu.addAction(toggle)
        actions["panel"] = toggle
        view = next((a.menu() for a in self.window.menuBar().actions()
                     if a.menu() is not None and a.text().replace("&", "") == "View"), None)
        if view is not None:
            view.addSeparator()
            view.addAction(toggle)
        return menu, actions

    def _wrap_keys(self) -> None:
        handlers = self.window.keys.handlers
        for key in FORWARD_KEYS:
            handlers[key] = self.forward
        for key in BACK_KEYS:
            handlers[key] = self.back
        handlers[Qt.Key.Key_Space] = self.toggle_autoplay
        handlers[Qt.Key.Key_L] = self.actions["laser"].toggle

    def _connect(self) -> None:
        p = self.panel
        p.sig_previous.connect(self.previous_lesson)
        p.sig_next.connect(self.next_lesson)
        p.sig_play_clicked.connect(self.toggle_autoplay)
        p.sig_close.connect(self.hide_panel)
        p.pace.valueChanged.connect(self._on_pace_changed)
        p.continue_box.toggled.connect(self.actions["continue"].setChecked)
        self.actions["panel"].triggered.connect(lambda on: self.settings.setValue(KEY_PANEL, bool(on)))
        self.autoplay.sig_playing_changed.connect(self._on_playing_changed)
        self.window.timeline_panel.sig_playing_changed.connect(lambda on: on and self.autoplay.stop())
        self.window.graph_panel.sig_presentation_changed.connect(self._on_presentation_changed)
        self.session.sig_source_changed.connect(self._on_source_changed)

    def _restore(self) -> None:
        s = self.settings
        self.panel.pace.setValue(float(s.value(KEY_PACE, self.panel.pace.value())))
        self.actions["continue"].setChecked(_flag(s.value(KEY_CONTINUE, False)))
        self.actions["laser"].setChecked(_flag(s.value(KEY_LASER, False)))
        self.dock.setVisible(_flag(s.value(KEY_PANEL, True)))

    # -- lessons -----------------------------------------------------------------------
    @property
    def index(self) -> int | None:
        """The open lesson's place in the lecture, or None for any other script."""
        return self.lessons.index(self.lesson) if self.lesson in self.lessons else None

    @property
    def loading(self) -> bool:
        """A lesson is being recorded: keys wait rather than step the previous tape."""
        return bool(self.window.runs.running)

    def open_lesson(self, index: int, step: int | str = 0) -> None:
        """Open lesson `index` and record it, landing on `step` (0, or "end")."""
        lesson = self.lessons[index]
        self.window.open_lesson(lesson, run=False)
        self.window.run(step)
        self.window.graph_panel.view.setFocus()  # the presenter's keys step the graph, not the editor

    def next_lesson(self) -> bool:
        i = self.index
        target = 0 if i is None else i + 1
        if target >= len(self.lessons):
            return False
        self.open_lesson(target, 0)
        return True

    def previous_lesson(self) -> bool:
        i = self.index
        if i is None or i == 0:
            return False
        self.open_lesson(i - 1, 0)
        return True

    # -- presenter keys ------------------------------------------------------------------
    def forward(self) -> None:
        """One step on; past a lesson's last step, the next lesson's first."""
        if self.loading:
            return
        in_view = self._view_step(+1)
        if in_view:
            return
        s = self.session
        if in_view is None and s.tape is not None and s.step < s.n_events - 1:
            s.next()
        elif self.index is not None:
            self.next_lesson()

    def back(self) -> None:
        """One step back; before a lesson's first step, the previous lesson's last."""
        if self.loading:
            return
        in_view = self._view_step(-1)
        if in_view:
            return
        s = self.session
        if in_view is None and s.tape is not None and s.step > 0:
            s.previous()
        elif self.index:
            self.open_lesson(self.index - 1, "end")

    # -- auto-play -----------------------------------------------------------------------
    def toggle_autoplay(self) -> None:
        if self.autoplay.playing:
            self.autoplay.stop()
            return
        s = self.session
        at_end = s.tape is not None and s.step >= s.n_events - 1
        if at_end and not self.continues:
            s.first()  # like any player: from the end, start over
        self.window.timeline_panel.pause()
        self.autoplay.start()

    @property
    def continues(self) -> bool:
        return self.actions["continue"].isChecked()

    def _auto_advance(self) -> bool:
        """One tick: a step, or the next lesson; False stops auto-play."""
        if self.loading or self.window.graph_panel.busy:
            return True  # the next lesson is on its way
        s = self.session
        if s.tape is not None and s.step < s.n_events - 1:
            s.next()
            return s.step < s.n_events - 1 or self.continues
        if self.continues and self.index is not None:
            return self.next_lesson()
        return False

    def _on_autoplay_action(self, on: bool) -> None:
        if on != self.autoplay.playing:
            self.toggle_autoplay()

    def _on_playing_changed(self, playing: bool) -> None:
        self.panel.set_playing(playing)
        action = self.actions["autoplay"]
        if action.isChecked() != playing:
            action.blockSignals(True)
            action.setChecked(playing)
            action.blockSignals(False)

    def _on_pace_changed(self, seconds: float) -> None:
        self.autoplay.set_pace(seconds)
        self.settings.setValue(KEY_PACE, float(seconds))

    def _on_continue_toggled(self, on: bool) -> None:
        if self.panel.continue_box.isChecked() != on:
            self.panel.continue_box.setChecked(on)
        self.settings.setValue(KEY_CONTINUE, bool(on))

    # -- laser, panel, presentation ------------------------------------------------------
    def _on_laser_toggled(self, on: bool) -> None:
        self.window.graph_panel.set_laser(on)
        self.settings.setValue(KEY_LASER, bool(on))

    def hide_panel(self) -> None:
        self.dock.hide()
        self.settings.setValue(KEY_PANEL, False)

    def show_panel(self) -> None:
        self.dock.show()
        self.dock.raise_()
        self.settings.setValue(KEY_PANEL, True)

    def _on_presentation_changed(self, on: bool) -> None:
        self.panel.set_font_scale(PRESENTATION_SCALE if on else 1.0)
        QTimer.singleShot(0, self._fit_dock)

    def _on_dock_visibility(self, visible: bool) -> None:
        if visible and not self._sized:  # once on screen: then the window's sizes are known
            self._sized = True
            QTimer.singleShot(0, self._fit_dock)

    def _fit_dock(self) -> None:
        """A quarter of the width for the explanation (presentation) or the inspector's
        width and half the height beside it (normal), whatever the window did to its docks."""
        w = self.window
        if w.graph_panel.presentation:
            w.resizeDocks([self.dock], [max(320, int(w.width() * 0.25))], Qt.Orientation.Horizontal)
        else:
            w.resizeDocks([self.dock], [max(300, int(w.height() * 0.42))], Qt.Orientation.Vertical)

    # -- session -> panel ----------------------------------------------------------------
    def _on_source_changed(self, _source: str) -> None:
        lesson = lesson_for_filename(self.session.filename)
        if lesson is not None and lesson not in self.lessons:
            lesson = None
        changed = lesson is not self.lesson
        self.lesson = lesson
        index = self.index
        self.panel.set_lesson(lesson, -1 if index is None else index, len(self.lessons))
        self.actions["previous"].setEnabled(bool(index))
        self.actions["next"].setEnabled(index is None or index < len(self.lessons) - 1)
        if changed and lesson is not None:
            self._show_view(lesson)
            self.sig_lesson_opened.emit(lesson)

    def _view_step(self, direction: int) -> bool | None:
        """Let the view on screen take the step: None when it is the graph (the tape steps),
        True when it stepped, False when it has no step left that way (the lesson moves on)."""
        view_step = getattr(self.window, "view_step", None)
        return view_step(direction) if callable(view_step) else None

    def _show_view(self, lesson: Lesson) -> None:
        """The window's view for this lesson, set up for it; the graph where the window has no such view."""
        prepare = getattr(self.window, "prepare_lesson_view", None)
        if callable(prepare):
            prepare(lesson)
        show_view = getattr(self.window, "show_view", None)
        if callable(show_view) and show_view(lesson.view) is False and lesson.view != "graph":
            show_view("graph")


def _flag(value) -> bool:
    """QSettings gives back "true"/"false" from INI files."""
    if isinstance(value, str):
        return value.lower() in ("true", "1", "yes")
    return bool(value)
