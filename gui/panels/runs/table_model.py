"""The stored runs as a table: one row per run, kept in step with the store by diffing, so
a refresh every few seconds neither resets the view nor loses the selection."""

from __future__ import annotations

import sqlite3

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QGuiApplication

from gradstudio.core.runs import RunRecord, RunStore, RunStoreError

from .columns import COLUMNS, NAME, STATUS, RunSummary, summarize
from .status_style import StatusIcons, is_dark

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 2


class RunsTableModel(QAbstractTableModel):
    sig_error = Signal(str)
    """A store read or write failed: the text says what and why."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._store: RunStore | None = None
        self._records: list[RunRecord] = []
        self._summaries: dict[int, RunSummary] = {}
        self._icons = StatusIcons()
        self._dark = is_dark(QGuiApplication.palette())

    # -- the store -------------------------------------------------------------------
    @property
    def store(self) -> RunStore | None:
        return self._store

    def set_store(self, store: RunStore | None) -> None:
        """Show another store's runs (None: none). Raises what `runs()` raises."""
        self.beginResetModel()
        self._store, self._records, self._summaries = store, [], {}
        self.endResetModel()
        if store is not None:
            self.refresh()

    def refresh(self) -> None:
        """Re-read the runs; insert, remove and update only the rows that changed.

        Metrics are re-read only for running runs and runs whose record changed, so a
        store with many finished runs costs one small query per refresh.
        Raises RunStoreError or sqlite3.Error when the database cannot be read.
        """
        if self._store is None:
            return
        fresh = self._store.runs()
        fresh_ids = {r.id for r in fresh}
        for row in reversed(range(len(self._records))):
            if self._records[row].id not in fresh_ids:
                self.beginRemoveRows(QModelIndex(), row, row)
                gone = self._records.pop(row)
                self._summaries.pop(gone.id, None)
                self.endRemoveRows()
        by_id = {r.id: i for i, r in enumerate(self._records)}
        last_column = len(COLUMNS) - 1
        for record in fresh:
            row = by_id.get(record.id)
            if row is None:
                self._summaries[record.id] = summarize(self._store, record.id)
                at = len(self._records)
                self.beginInsertRows(QModelIndex(), at, at)
                self._records.append(record)
                self.endInsertRows()
                continue
            changed = record != self._records[row]
            if changed or record.status == "running":
                summary = summarize(self._store, record.id)
                changed = changed or summary != self._summaries.get(record.id) or record.status == "running"
                self._summaries[record.id] = summary
                self._records[row] = record
            if changed:
                self.dataChanged.emit(self.index(row, 0), self.index(row, last_column))

    def set_dark(self, dark: bool) -> None:
        """Status dots in the shades for a dark (or light) background."""
        if dark != self._dark:
            self._dark = dark
            if self._records:
                self.dataChanged.emit(self.index(0, STATUS), self.index(len(self._records) - 1, STATUS),
                                      [Qt.ItemDataRole.DecorationRole])

    # -- reading rows ----------------------------------------------------------------
    def record(self, row: int) -> RunRecord:
        return self._records[row]

    def records(self) -> list[RunRecord]:
        return list(self._records)

    def summary(self, run_id: int) -> RunSummary | None:
        return self._summaries.get(run_id)

    def row_of(self, run_id: int) -> int:
        """The row of a run, -1 when it is not listed."""
        return next((i for i, r in enumerate(self._records) if r.id == run_id), -1)

    # -- QAbstractTableModel -----------------------------------------------------------
    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(self._records)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            if role == Qt.ItemDataRole.DisplayRole:
                return COLUMNS[section].title
            if role == Qt.ItemDataRole.ToolTipRole and section == NAME:
                return "Double-click or press F2 to rename"
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._records):
            return None
        record = self._records[index.row()]
        summary = self._summaries.get(record.id)
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return column.text(record, summary)
        if role == Qt.ItemDataRole.EditRole:
            return record.name if index.column() == NAME else column.text(record, summary)
        if role == SORT_ROLE:
            return column.sort_key(record, summary)
        if role == RUN_ID_ROLE:
            return record.id
        if role == Qt.ItemDataRole.ToolTipRole:
            return column.tooltip(record, summary) or None
        if role == Qt.ItemDataRole.DecorationRole and index.column() == STATUS:
            return self._icons.icon(record.status, self._dark)
        if role == Qt.ItemDataRole.TextAlignmentRole and column.numeric:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def flags(self, index: QModelIndex):
        base = super().flags(index)
        if index.isValid() and index.column() == NAME:
            return base | Qt.ItemFlag.ItemIsEditable
        return base

    def setData(self, index: QModelIndex, value, role=Qt.ItemDataRole.EditRole) -> bool:  # noqa: N802
        """Renaming a run renames it in the store; an empty name is refused with a reason."""
        if role != Qt.ItemDataRole.EditRole or not index.isValid() or index.column() != NAME or self._store is None:
            return False
        record = self._records[index.row()]
        name = str(value).strip()
        if not name:
            self.sig_error.emit(f"Run {record.id}: the name must not be empty; it stays {record.name!r}.")
            return False
        if name == record.name:
            return False
        try:
            self._store.rename(record.id, name)
        except (RunStoreError, sqlite3.Error) as exc:
            self.sig_error.emit(f"Could not rename run {record.id}: {exc}")
            return False
        record.name = name
        self.dataChanged.emit(index, index)
        return True


class RunsFilterProxy(QSortFilterProxyModel):
    """Sorts by each column's sort key (numbers and times numerically); the filter text
    matches any column, ignoring case."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.setDynamicSortFilter(True)
