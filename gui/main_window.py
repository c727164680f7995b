"""The main window: composes the panels around one Session and wires menus to it.

It creates docks and menus and forwards commands; the panels observe the session, and
everything they show comes from core.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFileDialog,
    QLabel,
    QMainWindow,
    QPushButton,
    QTabWidget,
)

from gradstudio.assets.lessons import DEFAULT_LESSON, LESSONS, Lesson
from gradstudio.core.builder import python_script, register_user_modules
from gradstudio.core.layout import repeat_key, repeated_runs
from gradstudio.core.model_files import find_models
from gradstudio.core.session import Session

from .compare import CompareView
from .file_actions import FileActions
from .graph_view import GraphPanel
from .keys import SteppingKeys
from .lecture import LectureController
from .menus import add_menu
from .model_opener import ModelOpener
from .panels.builder import BuilderPanel
from .panels.editor import EditorPanel
from .panels.hierarchy import HierarchyPanel
from .panels.inspector import InspectorPanel, memory_text
from .panels.runs import RunsPanel
from .panels.timeline import TimelinePanel
from .project_actions import ProjectActions
from .run_controller import RunController
from .settings import add_recent_file, default_settings, recent_files
from .theme import apply_theme, base_font
from .training.view import TrainingView
from .walkthrough import WalkthroughView

log = logging.getLogger(__name__)
DOCK_LAYOUT_VERSION = 3  # raise when docks are added or removed: an older saved layout is ignored


class MainWindow(QMainWindow):
    def __init__(self, settings: QSettings | None = None, session: Session | None = None, trust=None):
        super().__init__()
        self.settings = settings or default_settings()
        self.session = session or Session()
        self.runs = RunController(self.session, self)
        self.models = ModelOpener(self.session, self)
        self.files = FileActions(self)
        self.projects = ProjectActions(self, trust)
        self.theme = str(self.settings.value("theme", "light"))
        self.presentation = False
        self._normal_font = None  # the application font outside presentation mode
        self._fallback_reported = False
        self.setWindowTitle("gradstudio")

        self.graph_panel = GraphPanel(self.session)
        self.views = QTabWidget()  # the centre: the graph, training, the runs
        self.views.setDocumentMode(True)
        self.views.addTab(self.graph_panel, "Graph")
        self.setCentralWidget(self.views)
        self.editor_panel = EditorPanel(self.session)
        self.inspector_panel = InspectorPanel(self.session)
        self.timeline_panel = TimelinePanel(self.session)
        self.editor_dock = self._dock("Code", self.editor_panel, Qt.LeftDockWidgetArea)
        self.inspector_dock = self._dock("Inspector", self.inspector_panel, Qt.RightDockWidgetArea)
        self.hierarchy_panel = HierarchyPanel(self.session)
        self.hierarchy_dock = self._dock("Modules", self.hierarchy_panel, Qt.RightDockWidgetArea)
        self.tabifyDockWidget(self.inspector_dock, self.hierarchy_dock)
        self.inspector_dock.raise_()
        self.timeline_dock = self._dock("Timeline", self.timeline_panel, Qt.BottomDockWidgetArea)
        self.builder_panel = BuilderPanel()
        self.builder_panel.set_orientation(Qt.Vertical)
        self.builder_dock = self._dock("Builder", self.builder_panel, Qt.LeftDockWidgetArea)
        self.tabifyDockWidget(self.editor_dock, self.builder_dock)
        self.editor_dock.raise_()
        self.training_view = TrainingView(self.session, self.builder_panel.document)
        self.training_view.controller.store_path = self.runs_database_path()
        self.views.addTab(self.training_view, "Training")
        self.walkthrough_view = WalkthroughView(self.training_view.prepare)
        self.views.addTab(self.walkthrough_view, "Walkthrough")
        self.compare_view = CompareView(self.session, theme=self.theme)
        self.views.addTab(self.compare_view, "Dynamic vs static")
        self.runs_panel = RunsPanel()
        self.runs_panel.open_path(self.runs_database_path())  # its own connection: training writes through another
        self.views.addTab(self.runs_panel, "Runs")
        for i in range(self.views.count()):  # a small window squeezes a view instead of growing
            self.views.widget(i).setMinimumSize(300, 200)
        self._hidden_for_view: list[QDockWidget] = []
        self.views.currentChanged.connect(self._on_view_changed)
        self._build_status_bar()
        self._build_menus()
        self._connect()
        self.keys = SteppingKeys(self._stepping_handlers(), self.editor_panel, self)
        QApplication.instance().installEventFilter(self.keys)
        self.lecture = LectureController(self)  # lessons, presenter keys, auto-play, laser, figures
        self._restore_state()

    # -- construction ------------------------------------------------------------------
    def _dock(self, title: str, widget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        self.addDockWidget(area, dock)
        return dock

    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.memory_label = QLabel("")
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.runs.cancel)
        bar.addPermanentWidget(self.memory_label)
        bar.addPermanentWidget(self.cancel_button)

    def _build_menus(self) -> None:
        _, self.file_actions = add_menu(self, "&File", [
            ("&Open script…", "Ctrl+O", self.open_dialog),
            ("Open &model…", "Ctrl+Shift+O", self.open_model_dialog),
            ("Open pro&ject…", None, lambda: self.projects.open_dialog()),
            ("Save project…", None, lambda: self.projects.save_dialog()),
            ("&Save script", "Ctrl+S", self.files.save_script),
            ("Save script &as…", "Ctrl+Shift+S", self.files.save_script_as),
            None,
            ("Export graph as &PNG…", None, lambda: self.files.export_dialog("png")),
            ("Export graph as S&VG…", None, lambda: self.files.export_dialog("svg")),
            ("Export graph as &DOT…", None, lambda: self.files.export_dialog("dot")),
            ("Export tape as &JSON…", None, lambda: self.files.export_dialog("json")),
            None,
            ("Choose run &database…", None, self.choose_runs_database),
            None,
            ("&Quit", "Ctrl+Q", self.close),
        ])
        self.recent_menu = self.menuBar().actions()[0].menu().addMenu("Open &recent")
        self._fill_recent_menu()
        _, self.run_actions = add_menu(self, "&Run", [
            ("&Run", "Ctrl+R", lambda: self.run()),
            ("Run &again (compare)", "Ctrl+Shift+R", lambda: self.run()),
            ("&Cancel run", "Ctrl+.", self.runs.cancel),
        ])
        s = self.session
        _, self.step_actions = add_menu(self, "&Step", [
            ("&Next event", None, s.next),
            ("&Previous event", None, s.previous),
            ("&First event", None, s.first),
            ("&Last event", None, s.last),
            None,
            ("Step &over module call", "F10", s.step_over),
            ("Step o&ut of module", "Shift+F10", s.step_out),
            ("Run to &cursor line", "Ctrl+F10", self.run_to_cursor),
            ("Play / &pause", None, self.timeline_panel.toggle_play),
        ])
        _, self.view_actions = add_menu(self, "&View", [
            ("&Presentation mode", "F11", self.toggle_presentation),
            ("&Dark theme", None, lambda: self.set_theme("dark")),
            ("&Light theme", None, lambda: self.set_theme("light")),
            None,
            ("&Fit graph", None, self.graph_panel.view.fit),
            ("Fold &repeated blocks (× N)", "Ctrl+B", self.toggle_repeats),
        ])
        _, self.lesson_actions = add_menu(self, "&Lessons", [
            (lesson.title, None, lambda lesson=lesson: self.open_lesson(lesson)) for lesson in LESSONS
        ])

    def _connect(self) -> None:
        s = self.session
        s.sig_step_changed.connect(self._on_step_changed)
        s.sig_error_changed.connect(self._on_error_changed)
        s.sig_notice.connect(self._on_notice)
        s.sig_tape_changed.connect(self._on_tape_changed)
        self.training_view.sig_tape.connect(self._show_training_step)
        self.training_view.sig_run_finished.connect(lambda _result: self.runs_panel.refresh())
        self.runs_panel.sig_resume_requested.connect(self._resume_run)
        self.runs_panel.sig_message.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.runs.sig_running.connect(self._on_running_changed)
        self.runs.sig_progress.connect(lambda sec: self.statusBar().showMessage(f"Recording… {sec:.1f} s"))
        self.graph_panel.sig_layout_ready.connect(self._on_layout_ready)
        self.timeline_panel.sig_run_to_cursor.connect(self.run_to_cursor)
        self.models.sig_message.connect(lambda text: self.statusBar().showMessage(text, 15_000))
        self.builder_panel.sig_record_requested.connect(self.record_builder_model)
        self.runs.sig_finished.connect(lambda r: r.ok and self.offer_classes(r.namespace, self.session.source))
        self.models.sig_classes.connect(self.offer_classes)
        self.hierarchy_panel.sig_message.connect(lambda text: self.statusBar().showMessage(text, 10_000))

    def _stepping_handlers(self) -> dict:
        s = self.session
        return {
            Qt.Key_Right: s.next, Qt.Key_Left: s.previous, Qt.Key_PageDown: s.next, Qt.Key_PageUp: s.previous,
            Qt.Key_Home: s.first, Qt.Key_End: s.last, Qt.Key_Space: self.timeline_panel.toggle_play,
            Qt.Key_F: self.graph_panel.view.fit,
        }

    # -- documents and runs ------------------------------------------------------------
    def open_source(self, source: str, filename: str) -> None:
        self.session.set_source(source, filename)
        self.setWindowTitle(f"gradstudio — {Path(filename).name if not filename.startswith('<') else filename}")

    def open_lesson(self, lesson: Lesson, run: bool = True) -> None:
        self.open_source(lesson.source, lesson.filename)
        if run:
            self.run()

    def open_path(self, path: str, run: bool = True) -> bool:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            self.statusBar().showMessage(f"Cannot open {path}: {exc}", 15_000)
            return False
        self.open_source(text, str(Path(path).resolve()))
        add_recent_file(self.settings, str(Path(path).resolve()))
        self._fill_recent_menu()
        if run:
            self.run()
        return True

    def open_default(self) -> None:
        self.open_lesson(DEFAULT_LESSON)

    def run(self, step: int | str = "end") -> None:
        self.runs.run(step)

    def record_builder_model(self, _source: str = "") -> None:
        """The builder's model as a script (class Net, an example input, a stand-in loss) in
        the editor, recorded: the graph's module boxes follow the builder's tree."""
        doc = self.builder_panel.document
        self.open_source(python_script(doc.root, doc.input_shape), "<builder>")
        self.editor_dock.raise_()
        self.run()

    def offer_classes(self, namespace: dict, source: str) -> None:
        """The nn.Module classes a script or model file defined join the builder's palette."""
        register_user_modules(namespace, source)
        self.builder_panel.palette.rebuild()

    def run_to_cursor(self) -> None:
        self.session.run_to_line(self.editor_panel.cursor_line())

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a Python script", "", "Python (*.py);;All files (*)")
        if path:
            self.open_path(path)

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a model from a Python file", "", "Python (*.py)")
        if path:
            self.models.open(path, self)

    def _fill_recent_menu(self) -> None:
        self.recent_menu.clear()
        for path in recent_files(self.settings):
            self.recent_menu.addAction(path, lambda p=path: self.open_path(p))

    # -- reactions -----------------------------------------------------------------------
    def _on_running_changed(self, running: bool) -> None:
        self.cancel_button.setVisible(running)
        if not running:
            self.statusBar().clearMessage()

    def _on_tape_changed(self, tape) -> None:
        d = self.session.last_diff
        if d is not None:
            self.statusBar().showMessage(f"Run {self.session.run_count}: {d.describe()}", 30_000)

    def _on_step_changed(self, step: int) -> None:
        if self.session.graph is not None:  # the whole graph, asked about one step (no copy)
            self.memory_label.setText(memory_text(self.session.graph, step))

    def _on_error_changed(self, error) -> None:
        if error is not None:
            self.statusBar().showMessage(f"Run failed — {error}. The previous graph is kept.", 20_000)

    def _on_notice(self, text: str) -> None:
        """Nothing recorded from a file that only defines models: say how to open one."""
        try:
            names = [c.name for c in find_models(self.session.source)]
        except SyntaxError:
            names = []
        if names and "requires grad" in text:
            text = f"This file defines {', '.join(names)}: use File › Open model… to build and record one."
        self.statusBar().showMessage(text, 20_000)

    def _on_layout_ready(self) -> None:
        reason = self.graph_panel.layout_fallback_reason
        if reason and not self._fallback_reported:
            self._fallback_reported = True
            self.statusBar().showMessage(reason, 15_000)

    def toggle_repeats(self) -> None:
        """Fold every run of alike blocks (a Sequential of ResidualBlocks) into one `× N` box."""
        graph = self.session.graph
        if graph is None:
            return
        keys = {repeat_key(first) for first in repeated_runs(graph)}
        if not keys:
            self.statusBar().showMessage("No repeated blocks in this graph.", 8_000)
        elif keys <= self.session.collapsed:
            self.session.set_collapsed(self.session.collapsed - keys)
        else:
            self.session.set_collapsed(self.session.collapsed | keys)

    # -- view modes --------------------------------------------------------------------
    def set_theme(self, theme: str) -> None:
        self.theme = theme
        apply_theme(QApplication.instance(), theme)
        self.graph_panel.set_theme(theme)
        self.walkthrough_view.set_theme(theme)
        self.compare_view.set_theme(theme)
        self.settings.setValue("theme", theme)

    def toggle_presentation(self) -> None:
        self.set_presentation(not self.presentation)

    def set_presentation(self, on: bool) -> None:
        """Full screen, bigger text; only editor, graph and timeline."""
        self.presentation = on
        scale = 1.6 if on else 1.0
        self.inspector_dock.setVisible(not on)
        self.hierarchy_dock.setVisible(not on)
        self._on_view_changed()
        for panel in (self.editor_panel, self.timeline_panel):
            panel.set_font_scale(scale)
        self.graph_panel.set_presentation(on)
        self.walkthrough_view.set_presentation(on)
        self.compare_view.set_presentation(on)
        # everything else readable from the back too: menus, tabs, dock titles, forms, tables
        app = QApplication.instance()
        if on and self._normal_font is None:
            self._normal_font = app.font()
            app.setFont(base_font(1.4))
        elif not on and self._normal_font is not None:
            app.setFont(self._normal_font)
            self._normal_font = None
        if on:
            self.showFullScreen()
        else:
            self.showNormal()
        QTimer.singleShot(0, self._fit_docks)

    def _fit_docks(self) -> None:
        """Room for the code (a third of the width at presentation size) and the inspector."""
        share = 0.36 if self.presentation else 0.27
        width = self.width()
        right = max(340, int(width * 0.24))
        docks = [self.editor_dock, self.inspector_dock, self.hierarchy_dock]
        lecture = getattr(self, "lecture", None)
        if lecture is not None:
            docks.append(lecture.dock)
        self.resizeDocks(docks, [int(width * share)] + [right] * (len(docks) - 1), Qt.Horizontal)
        self.resizeDocks([self.timeline_dock], [130], Qt.Vertical)
        if self.presentation:
            self.graph_panel.view.frame()  # readable zoom around the current step, not a whole big graph

    def showEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        super().showEvent(event)
        if getattr(self, "_docks_unsized", False):
            self._docks_unsized = False
            QTimer.singleShot(0, self._fit_docks)

    # -- persistence -------------------------------------------------------------------
    def _restore_state(self) -> None:
        geometry = self.settings.value("geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        else:
            self.resize(1500, 950)
        state = self.settings.value("window_state")
        if not (isinstance(state, QByteArray) and self.restoreState(state, DOCK_LAYOUT_VERSION)):
            # first start, or docks added since: sized once the window is on screen
            self._docks_unsized = True
        apply_theme(QApplication.instance(), self.theme)
        self.graph_panel.set_theme(self.theme)

    # -- views -------------------------------------------------------------------------
    VIEWS = {"graph": "Graph", "training": "Training", "walkthrough": "Walkthrough", "compare": "Dynamic vs static",
             "runs": "Runs"}

    def show_view(self, name: str) -> bool:
        """Bring a centre view to the front by name ("graph", "training", "runs")."""
        title = self.VIEWS.get(name, name)
        for i in range(self.views.count()):
            if self.views.tabText(i) == title:
                self.views.setCurrentIndex(i)
                return True
        return False

    def _on_view_changed(self, _index: int = 0) -> None:
        """The inspector, modules and timeline belong to the graph: other views get their room,
        and in presentation mode the code too (the walkthrough and comparison show their own)."""
        for dock in self._hidden_for_view:
            dock.show()
        self._hidden_for_view = []
        if self.views.currentWidget() is self.graph_panel:
            if self.presentation:  # presentation shows editor, graph and timeline only
                self.inspector_dock.hide()
                self.hierarchy_dock.hide()
            return
        docks = [self.inspector_dock, self.hierarchy_dock, self.timeline_dock]
        if self.presentation and self.views.currentWidget() is not self.training_view:
            docks += [self.editor_dock, self.builder_dock]
        self._hidden_for_view = [d for d in docks if d.isVisible()]
        for dock in self._hidden_for_view:
            dock.hide()

    COMPARE_TOUR = ("branch", "depth", "rnn")  # the order a lecture walks the static-graph problems

    def view_step(self, direction: int) -> bool | None:
        """A presenter key on a view other than the graph: the walkthrough advances a line,
        the comparison moves to its next scenario; False when the view has nothing left."""
        view = self.views.currentWidget()
        if view is self.graph_panel:
            return None
        if view is self.walkthrough_view:
            walk = view.walk
            if direction > 0:
                done = walk is not None and walk.position.iteration > 2  # two full iterations shown
                return False if done else view.advance() is not None
            if walk is not None and (walk.position.iteration, walk.position.line) != (1, 0):
                view.back_to_start()
                return True
            return False
        if view is self.compare_view:
            tour = self.COMPARE_TOUR
            at = tour.index(view.scenario) if view.scenario in tour else -1
            nxt = at + direction
            if 0 <= nxt < len(tour) and at >= 0:
                view.select_scenario(tour[nxt])
                return True
            return False
        return False

    def prepare_lesson_view(self, lesson) -> None:
        """What a lesson opens with besides its script: its dataset, its scenario."""
        if lesson.dataset:
            form = self.training_view.form
            index = form.dataset.findData(lesson.dataset)
            if index >= 0:
                form.dataset.setCurrentIndex(index)
        if lesson.view == "compare":
            self.compare_view.select_scenario(self.COMPARE_TOUR[0])
        if lesson.view == "walkthrough" and self.walkthrough_view.walk is not None:
            self.walkthrough_view.reset()

    def runs_database_path(self) -> Path:
        from gradstudio.core.runs.location import default_store_path

        chosen = self.settings.value("runs/database", "")
        return Path(chosen) if chosen else default_store_path()

    def choose_runs_database(self, path: str | None = None) -> bool:
        """Keep runs in another SQLite file (a new one is created; a foreign one is refused, untouched)."""
        if path is None:
            path, _ = QFileDialog.getSaveFileName(self, "Run database", str(self.runs_database_path()),
                                                  "Run database (*.sqlite *.db);;All files (*)",
                                                  options=QFileDialog.DontConfirmOverwrite)
            if not path:
                return False
        if not self.runs_panel.open_path(path):
            self.statusBar().showMessage(f"{path}: {self.runs_panel.error_text()}", 15_000)
            self.runs_panel.open_path(self.runs_database_path())  # keep showing the database in use
            return False
        self.settings.setValue("runs/database", str(path))
        self.training_view.controller.store_path = Path(path)
        self.statusBar().showMessage(f"Runs are stored in {path}", 8000)
        return True

    def _resume_run(self, run_id: int, checkpoint: str) -> None:
        """Runs panel › Resume: the run's settings and model, continued from its checkpoint."""
        record = next((r for r in self.runs_panel.model.records() if r.id == run_id), None)
        self.show_view("training")
        if record is not None:
            self.training_view.resume(record, checkpoint)

    def _show_training_step(self, tape) -> None:
        """A batch trained through the capture engine: its graph, from the first event."""
        self.session.set_tape(tape, step=0)
        self.show_view("graph")

    def closeEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        if not self.presentation:
            self.settings.setValue("geometry", self.saveGeometry())
            self.settings.setValue("window_state", self.saveState(DOCK_LAYOUT_VERSION))
        self.settings.sync()
        if self._normal_font is not None:  # presentation's big font is this window's, not the app's
            QApplication.instance().setFont(self._normal_font)
            self._normal_font = None
        QApplication.instance().removeEventFilter(self.keys)
        self.runs.shutdown()
        self.training_view.shutdown()
        self.walkthrough_view.shutdown()
        self.compare_view.shutdown()
        self.runs_panel.set_store(None)
        self.models.shutdown()
        self.hierarchy_panel.shutdown()
        self.graph_panel.shutdown()
        super().closeEvent(event)
