"""Every stored training run in a sortable, filterable table, with the selected run's
details, an overlay of several runs' curves, rename, delete, export and resume.

The panel is given its store (`set_store`, or `open_path` to open one itself) rather than
asking a provider for it: the window decides which database is current and says so once
when that changes, tests hand a store in directly, and a refresh every 2 s never has to
guess whether the store it reads is still the right one.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QLineEdit,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from gradstudio.core.runs import RunRecord, RunStore, RunStoreError

from . import dialogs
from .columns import COLUMNS, NAME
from .details import RunDetails
from .overlay import OverlayArea
from .status_style import is_dark
from .table_model import RUN_ID_ROLE, RunsFilterProxy, RunsTableModel

REFRESH_MS = 2000
NOTE_MS = 15_000  # how long a note or an action's error stays in the banner
NO_STORE = "No run database is open."
NO_RUNS = "No runs yet: every training run is kept here with its config, machine and curves."
_STORE_ERRORS = (RunStoreError, sqlite3.Error, OSError)


def file_slug(name: str) -> str:
    """A run name made safe as part of a file name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")
    return slug[:60] or "run"


class RunsPanel(QWidget):
    sig_message = Signal(str)
    """Something to show in the status bar."""
    sig_overlay = Signal(list)
    """The run ids just overlaid (list[int]), for anything else that compares runs."""
    sig_resume_requested = Signal(int, str)
    """(run id, newest checkpoint path): continue training that run from there."""

    def __init__(self, store: RunStore | None = None, parent: QWidget | None = None, refresh_ms: int = REFRESH_MS):
        super().__init__(parent)
        self._owned_store: RunStore | None = None
        self._error = ""
        self._reading_error = False
        self.model = RunsTableModel(self)
        self.proxy = RunsFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.model.sig_error.connect(self._show_error)

        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter: name, status, dataset, optimizer…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setMaximumWidth(320)
        self.filter_edit.textChanged.connect(self._on_filter)

        self.table = self._make_table()
        self.empty_label = QLabel(NO_STORE, self)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.table)
        self.stack.addWidget(self.empty_label)

        self.banner = QLabel(self)
        self.banner.setWordWrap(True)
        self.banner.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.banner.hide()

        self.details = RunDetails(self)
        self.overlay = OverlayArea(self)
        lower = QSplitter(Qt.Orientation.Horizontal, self)
        lower.addWidget(self.details)
        lower.addWidget(self.overlay)
        lower.setSizes([420, 580])
        split = QSplitter(Qt.Orientation.Vertical, self)
        split.addWidget(self.stack)
        split.addWidget(lower)
        split.setSizes([280, 420])  # the curves and the config need the room more than a short list
        self.splitter = split

        self.toolbar = QToolBar(self)
        self.toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.toolbar.addWidget(self.filter_edit)
        self.toolbar.addSeparator()
        self.refresh_action = self._action("Refresh", self.refresh, "Read the runs again (F5)", QKeySequence.StandardKey.Refresh)
        self.rename_action = self._action("Rename", self.rename_selected, "Rename the selected run (F2)")
        self.delete_action = self._action("Delete", self.delete_selected, "Delete the selected runs (Del)",
                                          QKeySequence.StandardKey.Delete)
        self.toolbar.addSeparator()
        self.overlay_action = self._action("Overlay", self.overlay_selected, "Plot the selected runs' curves together")
        self.csv_action = self._action("Export CSV…", self.export_csv_selected, "Write the selected runs' metrics as CSV")
        self.tensorboard_action = self._action("Export TensorBoard…", self.export_tensorboard_selected,
                                               "Write the selected runs as TensorBoard event files")
        self.toolbar.addSeparator()
        self.resume_action = self._action("Resume", self.resume_selected, "")

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)
        lay.addWidget(self.toolbar)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)

        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self._tick)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._on_selection())
        self.proxy.rowsInserted.connect(lambda *_: self._update_empty())
        self.proxy.rowsRemoved.connect(lambda *_: self._update_empty())
        self.proxy.modelReset.connect(self._update_empty)
        self.model.set_dark(is_dark(self.palette()))
        self._apply_palette()
        self.set_store(store)

    # -- construction helpers ------------------------------------------------------------
    def _make_table(self) -> QTableView:
        t = QTableView(self)
        t.setModel(self.proxy)
        t.setSortingEnabled(True)
        t.sortByColumn(next(i for i, c in enumerate(COLUMNS) if c.title == "Created"), Qt.SortOrder.DescendingOrder)
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed)
        t.setAlternatingRowColors(True)
        t.setShowGrid(False)
        t.setWordWrap(False)
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(t.fontMetrics().height() + 8)
        header = t.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        header.setHighlightSections(False)
        return t

    def _action(self, text: str, slot, tip: str, shortcut=None) -> QAction:
        action = QAction(text, self)
        action.setToolTip(tip)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        action.triggered.connect(lambda *_: slot())
        self.toolbar.addAction(action)
        self.addAction(action)
        return action

    # -- the store -----------------------------------------------------------------------
    @property
    def store(self) -> RunStore | None:
        return self.model.store

    def set_store(self, store: RunStore | None) -> None:
        """Show this store's runs (None: no database). The caller keeps owning `store`."""
        self._close_owned()
        self._use(store)

    def open_path(self, path: str | Path) -> bool:
        """Open a run database for reading, owned (and closed) by the panel; a file that is
        not one, or is damaged, is shown as an error and the panel lists nothing."""
        self._close_owned()
        try:
            store = RunStore(path)
        except _STORE_ERRORS as exc:
            self._use(None)
            self._show_error(str(exc) if isinstance(exc, RunStoreError) else f"{path}: cannot open ({exc})",
                             reading=True)
            self._update_empty()
            return False
        self._owned_store = store
        self._use(store)
        return True

    def _use(self, store: RunStore | None) -> None:
        self.overlay.clear()
        self._set_error("")
        try:
            self.model.set_store(store)
        except _STORE_ERRORS as exc:
            self._show_error(f"Cannot read the runs: {exc}", reading=True)
        self.table.resizeColumnsToContents()
        self._update_empty()
        self._on_selection()

    def _close_owned(self) -> None:
        if self._owned_store is not None:
            owned, self._owned_store = self._owned_store, None
            self.model.set_store(None)
            owned.close()

    def closeEvent(self, event) -> None:  # noqa: N802
        self.timer.stop()
        self._close_owned()
        super().closeEvent(event)

    # -- refresh -------------------------------------------------------------------------
    def refresh(self) -> None:
        """Re-read the runs, keeping sort, filter and selection."""
        rows = self.model.rowCount()
        try:
            self.model.refresh()
        except _STORE_ERRORS as exc:
            self._show_error(f"Cannot read the runs: {exc}", reading=True)
            return
        if self.model.rowCount() != rows:  # new runs: room for their names and numbers
            self.table.resizeColumnsToContents()
        if self._error and self._reading_error:
            self._set_error("")
        self._update_empty()
        self._on_selection()
        shown = {r.id: r for r in self.model.records()}
        if self.overlay.run_ids and any(shown.get(i) is None or shown[i].status == "running"
                                        for i in self.overlay.run_ids):
            self._draw_overlay([shown[i] for i in self.overlay.run_ids if i in shown], announce=False)

    def _tick(self) -> None:
        if self.store is not None and self.isVisible():
            self.refresh()

    def showEvent(self, event) -> None:  # noqa: N802
        super().showEvent(event)
        self.timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802
        super().hideEvent(event)
        self.timer.stop()

    # -- selection -----------------------------------------------------------------------
    def selected_run_ids(self) -> list[int]:
        """The selected runs, top to bottom as shown."""
        rows = sorted(self.table.selectionModel().selectedRows(), key=lambda i: i.row())
        return [int(i.data(RUN_ID_ROLE)) for i in rows]

    def selected_records(self) -> list[RunRecord]:
        by_id = {r.id: r for r in self.model.records()}
        return [by_id[i] for i in self.selected_run_ids() if i in by_id]

    def select_runs(self, run_ids: list[int]) -> None:
        sel = self.table.selectionModel()
        sel.clearSelection()
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for run_id in run_ids:
            index = self._proxy_index(run_id)
            if index.isValid():
                sel.select(index, flags)
                sel.setCurrentIndex(index, QItemSelectionModel.SelectionFlag.NoUpdate)

    def _proxy_index(self, run_id: int, column: int = NAME) -> QModelIndex:
        row = self.model.row_of(run_id)
        if row < 0:
            return QModelIndex()
        return self.proxy.mapFromSource(self.model.index(row, column))

    def _on_selection(self) -> None:
        records = self.selected_records()
        current = self.table.currentIndex()
        shown = None
        if current.isValid() and any(r.id == current.data(RUN_ID_ROLE) for r in records):
            shown = next(r for r in records if r.id == current.data(RUN_ID_ROLE))
        elif records:
            shown = records[0]
        self.details.show_record(shown)
        one, some = len(records) == 1, bool(records)
        self.rename_action.setEnabled(one)
        self.delete_action.setEnabled(some)
        self.overlay_action.setEnabled(some)
        self.csv_action.setEnabled(some)
        self.tensorboard_action.setEnabled(some)
        checkpoint, why = self._resume_target(records)
        self.resume_action.setEnabled(checkpoint is not None)
        self.resume_action.setToolTip(f"Continue training from {Path(checkpoint).name}" if checkpoint else why)

    # -- filter and empty state ----------------------------------------------------------
    def _on_filter(self, text: str) -> None:
        self.proxy.setFilterFixedString(text.strip())
        self._update_empty()

    def _update_empty(self) -> None:
        if self.store is None:
            text = self._error or NO_STORE
        elif self.model.rowCount() == 0:
            text = self._error or NO_RUNS
        elif self.proxy.rowCount() == 0:
            text = f"No run matches “{self.filter_edit.text().strip()}”."
        else:
            self.stack.setCurrentWidget(self.table)
            self.banner.setVisible(bool(self.banner.text()))
            self.refresh_action.setEnabled(True)
            return
        self.empty_label.setText(text)
        self._style_empty(error=bool(self._error) and text == self._error)
        self.stack.setCurrentWidget(self.empty_label)
        if self._error and text == self._error:
            self.banner.hide()  # said once, in the middle, is enough
        self.refresh_action.setEnabled(self.store is not None)

    def empty_text(self) -> str:
        """What the panel says instead of the table ("" while the table shows)."""
        return self.empty_label.text() if self.stack.currentWidget() is self.empty_label else ""

    # -- messages ------------------------------------------------------------------------
    def error_text(self) -> str:
        return self._error

    def banner_text(self) -> str:
        return "" if self.banner.isHidden() else self.banner.text()

    def _show_error(self, text: str, reading: bool = False) -> None:
        """An error in the banner (and instead of the table when nothing can be listed).
        A reading error goes when the store reads again; an action's error stays a while."""
        self._reading_error = reading
        self._set_error(text)
        self.sig_message.emit(text)
        self._update_empty()
        if not reading:
            self._clear_later(text)

    def _set_error(self, text: str) -> None:
        self._error = text
        self._style_banner(error=bool(text))
        self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def _say(self, text: str) -> None:
        """A short note: the status bar and the banner (it replaces an action's error)."""
        self.sig_message.emit(text)
        if self._error and self._reading_error:
            return
        self._error = ""
        self._style_banner(error=False)
        self.banner.setText(text)
        self.banner.setVisible(bool(text))
        self._clear_later(text)

    def _clear_later(self, text: str) -> None:
        QTimer.singleShot(NOTE_MS, self, lambda: self._clear_note(text))

    def _clear_note(self, text: str) -> None:
        if self.banner.text() == text and not (self._error and self._reading_error):
            self._set_error("")

    def _style_banner(self, error: bool) -> None:
        pal = self.palette()
        colour = pal.color(QPalette.ColorRole.BrightText if error else QPalette.ColorRole.WindowText)
        self.banner.setStyleSheet(f"color: {colour.name()}; padding: 2px 4px;"
                                  + (" font-weight: bold;" if error else ""))

    def _apply_palette(self) -> None:
        self._style_banner(error=bool(self._error))
        self._style_empty(error=bool(self._error) and self.empty_label.text() == self._error)

    def _style_empty(self, error: bool) -> None:
        pal = self.palette()
        colour = pal.color(QPalette.ColorRole.BrightText if error else QPalette.ColorRole.PlaceholderText)
        self.empty_label.setStyleSheet(f"color: {colour.name()}; font-size: 11pt; padding: 24px;")

    def changeEvent(self, event) -> None:  # noqa: N802
        super().changeEvent(event)
        if event.type() == event.Type.FontChange and hasattr(self, "table"):
            self.table.resizeColumnsToContents()
        if event.type() == event.Type.PaletteChange and hasattr(self, "model"):
            self.model.set_dark(is_dark(self.palette()))
            self._apply_palette()
            self.details.show_record(self.details.record)  # the status colour in its heading

    # -- actions -------------------------------------------------------------------------
    def rename_selected(self) -> None:
        ids = self.selected_run_ids()
        if len(ids) != 1:
            self._say("Select one run to rename.")
            return
        index = self._proxy_index(ids[0], NAME)
        self.table.setCurrentIndex(index)
        self.table.edit(index)

    def delete_selected(self) -> None:
        records = self.selected_records()
        if not records or self.store is None:
            return
        running = [r.name for r in records if r.status == "running"]
        if running:
            self._say(f"{', '.join(running)} {'is' if len(running) == 1 else 'are'} still training: "
                      "stop the run before deleting it.")
            return
        if not dialogs.confirm_delete(self, [f"{r.name} (run {r.id}, {r.status})" for r in records]):
            return
        failed = ""
        for r in records:
            try:
                self.store.delete(r.id)
            except _STORE_ERRORS as exc:
                failed = f"Could not delete run {r.id} ({r.name}): {exc}"
                break
        self.refresh()
        gone = [r for r in records if self.model.row_of(r.id) < 0]
        if failed:
            self._show_error(failed)
        elif gone:
            self._say(f"Deleted {len(gone)} run{'s' if len(gone) != 1 else ''}: " + ", ".join(r.name for r in gone))

    def overlay_selected(self) -> None:
        records = self.selected_records()
        if not records:
            self._say("Select the runs to compare.")
            return
        self._draw_overlay(records)

    def _draw_overlay(self, records: list[RunRecord], announce: bool = True) -> None:
        if self.store is None:
            return
        try:
            self.overlay.show_runs(self.store, records)
        except _STORE_ERRORS as exc:
            self._show_error(f"Cannot read the runs' metrics: {exc}")
            return
        if announce:
            self.sig_overlay.emit([r.id for r in records])

    def export_csv_selected(self) -> None:
        records = self.selected_records()
        if not records or self.store is None:
            return
        if len(records) == 1:
            path = dialogs.ask_save_path(self, "Export run as CSV", f"{file_slug(records[0].name)}.csv",
                                         "CSV files (*.csv)")
            if not path:
                return
            targets = [(records[0], Path(path if path.lower().endswith(".csv") else path + ".csv"))]
        else:
            folder = dialogs.ask_directory(self, f"Export {len(records)} runs as CSV into")
            if not folder:
                return
            targets = [(r, Path(folder) / f"run-{r.id}-{file_slug(r.name)}.csv") for r in records]
        from gradstudio.core.runs.export import export_csv

        self._export(lambda r, target: export_csv(self.store, r.id, target), targets, "CSV")

    def export_tensorboard_selected(self) -> None:
        records = self.selected_records()
        if not records or self.store is None:
            return
        folder = dialogs.ask_directory(self, "Export TensorBoard event files into")
        if not folder:
            return
        # each run gets its own sub-folder there, so `tensorboard --logdir folder` compares them
        targets = [(r, Path(folder)) for r in records]
        from gradstudio.core.runs.export import export_tensorboard

        self._export(lambda r, target: export_tensorboard(self.store, r.id, target), targets, "TensorBoard")

    def _export(self, write, targets: list[tuple[RunRecord, Path]], what: str) -> None:
        written: list[Path] = []
        for record, target in targets:
            try:
                written.append(Path(write(record, target)))
            except (*_STORE_ERRORS, ValueError, KeyError) as exc:
                self._show_error(f"Could not export run {record.id} ({record.name}) as {what} to {target}: {exc}")
                return
        self._say(f"Exported {what}: " + ", ".join(str(p) for p in written))

    def _resume_target(self, records: list[RunRecord]) -> tuple[str | None, str]:
        """(newest checkpoint path, "") or (None, why resuming is not possible)."""
        if len(records) != 1:
            return None, "Select one run to resume"
        record = records[0]
        if record.status == "running":
            return None, f"{record.name} is still training"
        checkpoints = getattr(self.store, "checkpoints", None)
        if checkpoints is None:
            return None, "This run database keeps no checkpoints"
        try:
            found = checkpoints(record.id)
        except _STORE_ERRORS as exc:
            return None, f"Cannot read {record.name}'s checkpoints: {exc}"
        if not found:
            return None, f"{record.name} has no checkpoint to resume from"
        newest = max(found, key=lambda c: (c.created, c.step))
        return str(newest.path), ""

    def resume_selected(self) -> None:
        records = self.selected_records()
        checkpoint, why = self._resume_target(records)
        if checkpoint is None:
            self._say(why)
            return
        self.sig_resume_requested.emit(records[0].id, checkpoint)
