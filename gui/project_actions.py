"""File › Save/Open project: the builder's model and input shape, the script, and the
training settings, in one `.gradstudio` file (which `gradstudio train` also reads). Opening never runs a project's code until the user agrees; the answer
is remembered per file content (`TrustStore`)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QMainWindow, QMessageBox

from gradstudio.core.project import Project, ProjectError, Script, TrustStore, content_hash, load_project, save_project

FILTER = "gradstudio project (*.gradstudio)"


class ProjectActions:
    def __init__(self, window: QMainWindow, trust: TrustStore | None = None):
        self.window = window
        self.trust = trust or TrustStore()

    def _say(self, text: str, ms: int = 10_000) -> None:
        self.window.statusBar().showMessage(text, ms)

    def current(self) -> Project:
        doc = self.window.builder_panel.document
        session = self.window.session
        scripts = [Script(Path(session.filename).name if not session.filename.startswith("<") else "script.py",
                          session.source)] if session.source.strip() else []
        try:
            training = self.window.training_view.form.settings().to_dict()
        except ValueError:  # an unfinished setting (e.g. a CSV without columns) is not saved
            training = {}
        return Project(model=doc.root, input_shape=tuple(doc.input_shape), scripts=scripts, training=training)

    def save(self, path: str) -> bool:
        try:
            save_project(self.current(), path)
        except OSError as exc:
            self._say(f"Could not save {path}: {exc}", 15_000)
            return False
        self._say(f"Saved project {path}")
        return True

    def open(self, path: str) -> bool:
        """Load (every field checked); run nothing unless the user trusts this content."""
        try:
            project = load_project(path)
        except ProjectError as exc:
            self._say(f"{Path(path).name}: {exc}", 20_000)
            return False
        if project.model is not None:
            self.window.builder_panel.set_spec(project.model, project.input_shape)
        if project.training:
            from gradstudio.core.training.settings import TrainingSettings

            try:
                self.window.training_view.form.set_settings(TrainingSettings.from_dict(project.training))
            except ValueError as exc:  # the rest of the project still opens
                self._say(f"{Path(path).name}: training settings not loaded: {exc}", 20_000)
        if project.scripts:
            script = project.scripts[0]
            self.window.open_source(script.source, f"<project {Path(path).name}: {script.name}>")
        digest = content_hash(path)
        if project.has_code and not self.trust.is_trusted(digest):
            if not self.ask_trust(path, project):
                self._say("Project opened without running its code: press Run when you have read it.")
                return True
            self.trust.trust(digest)
        if project.has_code:
            self.window.run()
        return True

    def ask_trust(self, path: str, project: Project) -> bool:
        """Show the code and ask before running it (tests replace this method)."""
        box = QMessageBox(self.window)
        box.setWindowTitle("Run this project's code?")
        box.setText(f"{Path(path).name} contains Python code. Run it now?")
        box.setDetailedText(project.scripts[0].source)
        box.setStandardButtons(QMessageBox.Yes | QMessageBox.No)
        box.setDefaultButton(QMessageBox.No)
        return box.exec() == QMessageBox.Yes

    def save_dialog(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self.window, "Save project", "project.gradstudio", FILTER)
        if path:
            self.save(path if path.endswith(".gradstudio") else path + ".gradstudio")

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.window, "Open project", "", FILTER)
        if path:
            self.open(path)
