"""Metrics of one run as growing numpy columns: the training thread appends, the GUI reads
whenever it redraws.

Each metric has its own (steps, values) pair because metrics come at different rates (the
validation loss once per epoch, the training loss every step). Arrays double in capacity
when full, so an append costs O(1) amortised. Old slots are never written again once
filled: `arrays()` hands out read-only views of the filled part, which later appends
cannot change, so the reader needs no copy and holds no lock while it draws.
"""

from __future__ import annotations

import math
import threading
from typing import Iterable

import numpy as np

_START_CAPACITY = 256


class _Column:
    """One metric: steps and values, float64, filled up to `size`."""

    __slots__ = ("steps", "values", "size")

    def __init__(self, capacity: int = _START_CAPACITY):
        self.steps = np.empty(capacity, np.float64)
        self.values = np.empty(capacity, np.float64)
        self.size = 0

    def push(self, step: float, value: float) -> None:
        if self.size == len(self.steps):
            # New buffers, not resize in place: views handed out earlier keep the old ones.
            capacity = 2 * len(self.steps)
            steps, values = np.empty(capacity, np.float64), np.empty(capacity, np.float64)
            steps[: self.size], values[: self.size] = self.steps[: self.size], self.values[: self.size]
            self.steps, self.values = steps, values
        self.steps[self.size] = step
        self.values[self.size] = value
        self.size += 1

    def last_step(self) -> float:
        return self.steps[self.size - 1] if self.size else -math.inf

    def views(self) -> tuple[np.ndarray, np.ndarray]:
        steps, values = self.steps[: self.size], self.values[: self.size]
        steps.flags.writeable = False
        values.flags.writeable = False
        return steps, values


def _as_float(name: str, step: int, value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {name!r} at step {step}: expected a number or None, "
                        f"got {type(value).__name__} {value!r}") from None


class MetricSeries:
    """Thread-safe columnar store of the metrics of one run.

    `version` grows with every append, so a reader redraws only when something was added.
    Steps must not go back for a metric (equal steps are allowed), which keeps each column
    sorted for binary search.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._columns: dict[str, _Column] = {}
        self._rows = 0
        self.version = 0

    # -- writing (training thread) -----------------------------------------------------
    def append(self, step: int, **values: float | None) -> None:
        """One step's metrics; a None value means the metric has no value at this step."""
        with self._lock:
            self._append(step, values)
            self.version += 1

    def extend(self, rows: Iterable[tuple[int, dict]]) -> None:
        """Many steps at once, under one lock; `rows` are (step, {name: value or None})."""
        with self._lock:
            for step, values in rows:
                self._append(step, values)
            self.version += 1

    def _append(self, step: int, values: dict) -> None:
        checked = []
        for name, value in values.items():
            if value is None:
                continue
            number = _as_float(name, step, value)
            column = self._columns.get(name)
            if column is not None and step < column.last_step():
                raise ValueError(f"metric {name!r}: step {step} comes before step "
                                 f"{int(column.last_step())} already recorded")
            checked.append((name, number))
        for name, number in checked:  # all checked first: a bad row adds nothing
            column = self._columns.get(name)
            if column is None:
                column = self._columns[name] = _Column()
            column.push(float(step), number)
        self._rows += 1

    # -- reading (any thread) ----------------------------------------------------------
    def names(self) -> list[str]:
        """Metrics with at least one value, in the order they first appeared."""
        with self._lock:
            return list(self._columns)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._columns

    def arrays(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """(steps, values) of one metric, only where it has a value; read-only float64 views
        that later appends leave untouched."""
        with self._lock:
            column = self._columns.get(name)
            if column is None:
                known = ", ".join(self._columns) or "none yet"
                raise KeyError(f"no metric {name!r} in this run (metrics: {known})")
            return column.views()

    def count(self, name: str) -> int:
        """How many values a metric has (0 for an unknown one)."""
        with self._lock:
            column = self._columns.get(name)
            return column.size if column is not None else 0

    def __len__(self) -> int:
        """Steps appended (rows), whether or not every metric had a value."""
        return self._rows

    def __repr__(self) -> str:
        return f"MetricSeries({self._rows} steps, metrics={self.names()})"

    # -- stored runs -------------------------------------------------------------------
    @classmethod
    def from_store(cls, store, run_id: int, names: Iterable[str] | None = None) -> MetricSeries:
        """The metrics of a run kept in a RunStore. Without `names`: every metric the run
        logged (the StepMetrics fields and any others, e.g. "grad_norm/<layer>")."""
        store.run(run_id)  # KeyError naming the run if there is none
        if names is None:
            names = _stored_names(store, run_id)
        series = cls()
        steps_seen: set[int] = set()
        for name in names:
            rows = [(step, value) for step, value in store.metrics(run_id, name) if value is not None]
            if not rows:
                continue
            column = _Column(max(_START_CAPACITY, len(rows)))
            data = np.asarray(rows, np.float64)
            column.steps[: len(rows)], column.values[: len(rows)] = data[:, 0], data[:, 1]
            column.size = len(rows)
            series._columns[name] = column
            steps_seen.update(step for step, _ in rows)
        series._rows = len(steps_seen)
        series.version = 1
        return series


# the metrics every step can have, in the order a stored run lists them
STEP_METRICS = ("epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr")


def _stored_names(store, run_id: int) -> list[str]:
    """Metric names a stored run has: the StepMetrics ones first, then the others by name."""
    stored = [row[0] for row in store.db.execute(
        "SELECT DISTINCT name FROM metrics WHERE run_id=? ORDER BY name", (run_id,))]
    return [n for n in STEP_METRICS if n in stored] + [n for n in stored if n not in STEP_METRICS]
